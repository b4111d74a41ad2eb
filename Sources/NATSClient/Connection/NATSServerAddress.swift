import MicroAddress

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

    var description: String { HostPort(host: host, port: port).description }

    /// Parses a server URL; the port defaults to 4222, a missing host is 127.0.0.1 (``HostPort``'s policy).
    init(parsing url: String, discovered: Bool = false) throws(NATSError) {
        tls = false
        self.discovered = discovered
        let (scheme, authority) = HostPort.splitScheme(url)
        var rest = authority
        switch scheme {
        case nil, "nats": break
        case "tls": tls = true
        default: throw NATSError(.connectFailed, "unsupported scheme in \(url.debugDescription)")
        }
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
        let address: HostPort
        do {
            address = try HostPort(parsing: rest, defaultPort: 4222, defaultHost: HostPort.loopback)
        } catch {
            throw NATSError(.connectFailed, "bad server address \(url.debugDescription): \(error.reason)")
        }
        guard address.port != 0 else { throw NATSError(.connectFailed, "bad port in \(url.debugDescription)") }
        host = address.host
        port = address.port
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
