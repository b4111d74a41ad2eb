import MicroCore

/// A failure of the NATS broker itself (not of NATS or a handler).
public struct NATSBrokerError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of broker failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable { case shutdown, malformedMessage }
        private let wrapped: Wrapped
        /// The broker is shut down.
        public static let shutdown = Code(wrapped: .shutdown)
        /// A delivered payload is not go-micro's broker message JSON.
        public static let malformedMessage = Code(wrapped: .malformedMessage)
        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// Details.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "nats broker \(code): \(detail)" }

    public var microError: MicroError {
        code == .shutdown ? .unavailable("go.micro.broker", description) : .badRequest("go.micro.broker", description)
    }
}
