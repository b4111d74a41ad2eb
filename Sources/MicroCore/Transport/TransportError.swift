/// A failure of the transport itself (not of a handler): which node, what happened, and whether
/// another node may succeed.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of transport failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case connectFailed, connectionClosed, messageTooLarge, timeout, protocolViolation, shutdown
        }
        private let wrapped: Wrapped
        /// The node could not be reached: nothing was sent, so another node can take the call.
        public static let connectFailed = Code(wrapped: .connectFailed)
        /// The connection closed before the answer came.
        public static let connectionClosed = Code(wrapped: .connectionClosed)
        /// A message is larger than the configured limit.
        public static let messageTooLarge = Code(wrapped: .messageTooLarge)
        /// The deadline passed.
        public static let timeout = Code(wrapped: .timeout)
        /// The peer sent something this transport does not understand.
        public static let protocolViolation = Code(wrapped: .protocolViolation)
        /// The transport is shut down.
        public static let shutdown = Code(wrapped: .shutdown)
        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// The peer address involved.
    public var address: String
    /// Details.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, address: String, detail: String) {
        self.code = code
        self.address = address
        self.detail = detail
    }

    public var description: String { "transport \(code) (\(address)): \(detail)" }

    public var microError: MicroError {
        switch code {
        case .timeout: return .timeout("go.micro.client", description)
        case .messageTooLarge: return .tooLarge("go.micro.client", description)
        case .connectFailed, .connectionClosed, .shutdown: return .unavailable("go.micro.client", description)
        case .protocolViolation: return .badRequest("go.micro.transport", description)
        default: return .internalServerError("go.micro.client", description)
        }
    }
}
