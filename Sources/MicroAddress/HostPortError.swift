/// Why a text is not a ``HostPort``: the reason and the text (shortened in ``description``).
public struct HostPortError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of malformed address, open for additions.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case empty, tooLong, missingHost, missingPort, invalidHost, invalidPort, portOutOfRange
        }
        private let wrapped: Wrapped

        /// Nothing but whitespace.
        public static let empty = Reason(wrapped: .empty)
        /// Longer than ``HostPort/maxLength``.
        public static let tooLong = Reason(wrapped: .tooLong)
        /// No host (`:80`, `80`) and no default host.
        public static let missingHost = Reason(wrapped: .missingHost)
        /// No port (`host`, `[::1]`) and no default port.
        public static let missingPort = Reason(wrapped: .missingPort)
        /// The host is neither a host name, an IPv4 address nor a bracketed IPv6 address.
        public static let invalidHost = Reason(wrapped: .invalidHost)
        /// The port is empty or not a decimal number.
        public static let invalidPort = Reason(wrapped: .invalidPort)
        /// The port is above 65535.
        public static let portOutOfRange = Reason(wrapped: .portOutOfRange)

        public var description: String {
            switch wrapped {
            case .empty: "empty address"
            case .tooLong: "address longer than \(HostPort.maxLength) bytes"
            case .missingHost: "missing host"
            case .missingPort: "missing port"
            case .invalidHost: "not a host name, IPv4 address or [IPv6] address"
            case .invalidPort: "port is not a number"
            case .portOutOfRange: "port outside 0...65535"
            }
        }
    }

    /// What is wrong.
    public var reason: Reason
    /// The text that was parsed.
    public var input: String

    /// An error for `input`.
    public init(_ reason: Reason, input: String) {
        self.reason = reason
        self.input = input
    }

    public var description: String {
        let shown = input.count > 64 ? String(input.prefix(64)) + "..." : input
        return "\(shown.debugDescription) is not host:port: \(reason)"
    }
}
