/// One server to connect to, parsed from `nats://user:pass@host:port`, `tls://host:port` or `host:port`.
struct NATSServerAddress: Sendable, Hashable, CustomStringConvertible {
    var host: String
    var port: Int
    /// Whether the URL asked for TLS (`tls://`).
    var tls: Bool
    var user: String?
    var password: String?
    var token: String?
    /// Learnt from `INFO` `connect_urls` rather than configured.
    var discovered: Bool = false

    var description: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// Parses a server URL; the port defaults to 4222.
    init(parsing url: String, discovered: Bool = false) throws(NATSError) {
        var rest = Substring(url.natsTrimmed())
        tls = false
        self.discovered = discovered
        if let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            switch scheme {
            case "nats": break
            case "tls": tls = true
            default: throw NATSError(.connectFailed, "unsupported scheme in \(url.debugDescription)")
            }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = String(userInfo[..<colon]).natsPercentDecoded()
                password = String(userInfo[userInfo.index(after: colon)...]).natsPercentDecoded()
            } else if !userInfo.isEmpty {
                token = String(userInfo).natsPercentDecoded()
            }
        }
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw NATSError(.connectFailed, "bad IPv6 address in \(url.debugDescription)") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw NATSError(.connectFailed, "bad address \(url.debugDescription)")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw NATSError(.connectFailed, "bad port in \(url.debugDescription)") }
            port = p
        } else {
            port = 4222
        }
        guard !host.isEmpty else { throw NATSError(.connectFailed, "no host in \(url.debugDescription)") }
    }

    /// Whether the host is a literal IPv4 or IPv6 address (not usable as TLS SNI).
    var hostIsIPAddress: Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    func sameEndpoint(_ other: NATSServerAddress) -> Bool { host == other.host && port == other.port }
}

extension String {
    fileprivate func natsTrimmed() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }

    /// Decodes `%XX` escapes (as in URL user info); invalid escapes stay as they are.
    fileprivate func natsPercentDecoded() -> String {
        guard contains("%") else { return self }
        var out: [UInt8] = []
        let bytes = Array(utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
