/// A `host:port` network address, parsed once and checked: what every engine of Swift Micro dials,
/// binds or announces.
///
/// The text forms are Go's (`net.SplitHostPort`, `net.JoinHostPort`): `host:port`, `[v6]:port`.
/// The policy, the same for every caller:
/// - **A bare port** (`8080`) is a port without a host, the same as `:8080`; it is never a host
///   named `8080`.
/// - **A missing host** (`:8080`, `8080`) is refused with ``HostPortError/Reason/missingHost`` unless
///   the caller passes `defaultHost`. Callers that dial or bind pass ``loopback`` (Go dials the local
///   system for an empty host; Swift Micro stays on 127.0.0.1 rather than every interface).
/// - **A missing port** (`host`, `[::1]`) is refused with ``HostPortError/Reason/missingPort`` unless
///   the caller passes `defaultPort` (etcd 2379, Consul 8500, gossip 7946, NATS 4222).
/// - **`localhost`** is a host name like any other: kept as written, never rewritten to an IP; it is
///   resolved when connecting (possibly to `::1` first).
/// - IPv6 addresses go in brackets (`[::1]:80`, zones as `[fe80::1%eth0]:80`); an unbracketed one
///   (`::1`, `::1:80`) is refused, as Go refuses it. ``host`` holds the address without brackets.
/// - Surrounding whitespace is ignored; anything else that is not a host name, an IPv4 address or a
///   bracketed IPv6 address, a port outside 0...65535, or text longer than ``maxLength`` is refused.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    /// A host name, an IPv4 address, or an IPv6 address without brackets.
    public var host: String
    /// The port, 0...65535 (0: any free port when binding).
    public var port: Int

    /// The longest text ``init(parsing:defaultPort:defaultHost:)`` reads.
    public static let maxLength = 1024
    /// The IPv4 loopback address, the `defaultHost` of callers that dial or bind.
    public static let loopback = "127.0.0.1"

    /// An address from its parts, taken as they are.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port`, `host` (with `defaultPort`), `:port` or a bare port (with
    /// `defaultHost`); throws a ``HostPortError`` for anything else (see the policy above).
    public init(parsing text: some StringProtocol, defaultPort: Int? = nil, defaultHost: String? = nil) throws(HostPortError) {
        let input = String(text)
        func fail(_ reason: HostPortError.Reason) -> HostPortError { HostPortError(reason, input: input) }
        guard input.utf8.count <= Self.maxLength else { throw fail(.tooLong) }
        let bytes = Self.trimmed(Array(input.utf8))
        guard !bytes.isEmpty else { throw fail(.empty) }

        var hostBytes: ArraySlice<UInt8>
        var portBytes: ArraySlice<UInt8>?
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { throw fail(.invalidHost) }
            hostBytes = bytes[1..<close]
            guard Self.isIPv6(hostBytes) else { throw fail(.invalidHost) }
            let rest = bytes[(close + 1)...]
            if let first = rest.first {
                guard first == UInt8(ascii: ":") else { throw fail(.invalidPort) }
                portBytes = rest.dropFirst()
            }
        } else {
            let colons = bytes.lazy.filter { $0 == UInt8(ascii: ":") }.count
            switch colons {
            case 0 where bytes.allSatisfy(Self.isDigit):
                // A bare port.
                hostBytes = []
                portBytes = bytes[...]
            case 0:
                hostBytes = bytes[...]
            case 1:
                let colon = bytes.firstIndex(of: UInt8(ascii: ":"))!
                hostBytes = bytes[..<colon]
                portBytes = bytes[(colon + 1)...]
            default:
                // Go: "too many colons in address"; an IPv6 address goes in brackets.
                throw fail(.invalidHost)
            }
            if !hostBytes.isEmpty, !Self.isHostName(hostBytes) { throw fail(.invalidHost) }
        }

        if let portBytes {
            guard !portBytes.isEmpty, portBytes.allSatisfy(Self.isDigit) else { throw fail(.invalidPort) }
            var value = 0
            for digit in portBytes {
                value = value * 10 + Int(digit - UInt8(ascii: "0"))
                guard value <= 65535 else { throw fail(.portOutOfRange) }
            }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw fail(.missingPort)
        }

        if !hostBytes.isEmpty {
            host = String(decoding: hostBytes, as: UTF8.self)
        } else if let defaultHost {
            host = defaultHost
        } else {
            throw fail(.missingHost)
        }
    }

    /// `host:port`, or `[host]:port` when the host contains a colon (as Go's `net.JoinHostPort`).
    public var description: String {
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Splits a leading `scheme://` (lowercased) off `text` and cuts it at the first `/` after that:
    /// `http://h:80/x` gives (`http`, `h:80`), `h:80` gives (nil, `h:80`). What remains may still
    /// carry user info (`user@h:80`), which is the caller's to read. Surrounding whitespace is dropped.
    public static func splitScheme(_ text: some StringProtocol) -> (scheme: String?, authority: Substring) {
        var rest = Substring(text)
        while rest.first?.isWhitespace == true { rest = rest.dropFirst() }
        while rest.last?.isWhitespace == true { rest = rest.dropLast() }
        var scheme: String?
        // One pass over the bytes, no string search: this runs on every HTTP call.
        let bytes = rest.utf8
        var i = bytes.startIndex
        while i != bytes.endIndex, bytes[i] != UInt8(ascii: ":"), bytes[i] != UInt8(ascii: "/") { i = bytes.index(after: i) }
        if i != bytes.endIndex, bytes[i] == UInt8(ascii: ":"), bytes[bytes.index(after: i)...].starts(with: "//".utf8),
           isScheme(rest[..<i].utf8) {
            scheme = rest[..<i].lowercased()
            rest = rest[bytes.index(i, offsetBy: 3)...]
        }
        if let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) { rest = rest[..<slash] }
        return (scheme, rest)
    }

    // MARK: Characters

    private static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return Array(bytes[first...last])
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    private static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))
    }

    /// A host name or IPv4 address: letters, digits, `-`, `.` and `_` (container and service names use it).
    private static func isHostName(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") }
    }

    /// What may stand in brackets: hex digits, colons (at least one) and dots (an embedded IPv4 part),
    /// then optionally `%` and a zone (an interface name).
    private static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        let percent = bytes.firstIndex(of: UInt8(ascii: "%"))
        let address = bytes[..<(percent ?? bytes.endIndex)]
        guard address.contains(UInt8(ascii: ":")),
              address.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return false }
        guard let percent else { return true }
        let zone = bytes[(percent + 1)...]
        return !zone.isEmpty && isHostName(zone)
    }

    /// RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
    private static func isScheme(_ text: Substring.UTF8View) -> Bool {
        guard let first = text.first, isLetter(first) else { return false }
        return text.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}
