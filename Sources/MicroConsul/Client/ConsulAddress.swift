/// `host:port` handling as Go's `net.SplitHostPort` / `JoinHostPort` do it (IPv6 hosts in brackets).
enum ConsulAddress {
    /// Splits `host:port`; an address without a port is all host and port 0 (go-micro's fallback).
    static func split(_ address: String) -> (host: String, port: Int) {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            let host = String(address[address.index(after: address.startIndex)..<close])
            let rest = address[address.index(after: close)...]
            guard rest.hasPrefix(":") else { return (host, 0) }
            return (host, Int(rest.dropFirst()) ?? 0)
        }
        let colons = address.filter { $0 == ":" }.count
        guard colons == 1, let colon = address.lastIndex(of: ":") else { return (address, 0) }
        return (String(address[..<colon]), Int(address[address.index(after: colon)...]) ?? 0)
    }

    /// Joins a host and port, bracketing an IPv6 host.
    static func join(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// An agent address as `host:port`: surrounding spaces and an `http://` scheme dropped, port 8500
    /// added when missing; nil for an empty entry.
    static func normalize(_ raw: String) -> String? {
        var s = Substring(raw).drop { $0 == " " }
        while s.last == " " || s.last == "/" { s = s.dropLast() }
        if s.hasPrefix("http://") { s = s.dropFirst(7) }
        guard !s.isEmpty else { return nil }
        let (host, port) = split(String(s))
        return join(host, port == 0 ? 8500 : port)
    }
}
