/// A failure of the NATS client: what happened and the details (for a server `-ERR`, its text).
public struct NATSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of NATS client failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case connectFailed, connectionClosed, authorizationViolation, serverError, protocolViolation, timeout
            case noResponders, reconnectBufferExceeded, slowConsumer, maxPayloadExceeded, draining, closed
            case badSubject, badHeader, outboundBufferFull
        }
        private let wrapped: Wrapped
        /// No server of the list could be reached (or the handshake failed).
        public static let connectFailed = Code(wrapped: .connectFailed)
        /// The connection to the server dropped before the operation completed.
        public static let connectionClosed = Code(wrapped: .connectionClosed)
        /// The server refused the credentials (`-ERR 'Authorization Violation'`).
        public static let authorizationViolation = Code(wrapped: .authorizationViolation)
        /// The server sent `-ERR`; the detail holds its text.
        public static let serverError = Code(wrapped: .serverError)
        /// The server sent bytes that are not the NATS client protocol (or exceed its bounds).
        public static let protocolViolation = Code(wrapped: .protocolViolation)
        /// The deadline passed.
        public static let timeout = Code(wrapped: .timeout)
        /// A request found no subscriber on its subject (status 503).
        public static let noResponders = Code(wrapped: .noResponders)
        /// Publishing while disconnected would exceed `NATSOptions.reconnectBufferSize`.
        public static let reconnectBufferExceeded = Code(wrapped: .reconnectBufferExceeded)
        /// A subscription's pending buffer was full and messages were dropped.
        public static let slowConsumer = Code(wrapped: .slowConsumer)
        /// The message is larger than the server's `max_payload`.
        public static let maxPayloadExceeded = Code(wrapped: .maxPayloadExceeded)
        /// The connection is draining and takes no new work.
        public static let draining = Code(wrapped: .draining)
        /// The connection is closed.
        public static let closed = Code(wrapped: .closed)
        /// The subject (or queue group, or reply subject) is empty or contains whitespace or empty tokens.
        public static let badSubject = Code(wrapped: .badSubject)
        /// A header name or value cannot be sent (control characters, `:` in a name).
        public static let badHeader = Code(wrapped: .badHeader)
        /// A publish that may not wait found the outbound buffer over its high-water mark (`tryPublish`).
        public static let outboundBufferFull = Code(wrapped: .outboundBufferFull)
        /// The code's name.
        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// Details (the server's text for ``Code/serverError`` and ``Code/authorizationViolation``).
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// "nats CODE: detail".
    public var description: String { detail.isEmpty ? "nats \(code)" : "nats \(code): \(detail)" }
}
