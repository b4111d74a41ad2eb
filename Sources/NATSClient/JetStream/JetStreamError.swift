/// A failure of a JetStream operation: the kind, the server's API error when it answered one, and
/// the details.
public struct JetStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of JetStream failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case api, noResponders, timeout, connection, invalidResponse, invalidArgument, tooLarge, consumerReset, keyExists
        }
        private let wrapped: Wrapped
        /// The server answered with an API error; ``JetStreamError/api`` holds it.
        public static let api = Code(wrapped: .api)
        /// Nobody answered on the subject: JetStream is not enabled, or no stream takes the subject.
        public static let noResponders = Code(wrapped: .noResponders)
        /// No answer within the request timeout (the server may be down, or restarting).
        public static let timeout = Code(wrapped: .timeout)
        /// The NATS connection failed the request (closed, draining, dropped, buffer full).
        public static let connection = Code(wrapped: .connection)
        /// The server's answer is not what the JetStream API promises (not JSON, too large, missing fields).
        public static let invalidResponse = Code(wrapped: .invalidResponse)
        /// An argument cannot be sent: an invalid stream, consumer, bucket or key name, say.
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// A message is larger than the server's `max_payload`.
        public static let tooLarge = Code(wrapped: .tooLarge)
        /// An ordered consumer lost its place and was told not to recreate itself.
        public static let consumerReset = Code(wrapped: .consumerReset)
        /// A key-value create found a live value under the key.
        public static let keyExists = Code(wrapped: .keyExists)
        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// The error object the server answered with (for ``Code/api``).
    public var api: JetStreamAPIError?
    /// Details, for people.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String, api: JetStreamAPIError? = nil) {
        self.code = code
        self.detail = detail
        self.api = api
    }

    /// The server's error from an API answer.
    public init(api: JetStreamAPIError, _ context: String) {
        self.init(.api, "\(context): \(api.description) (\(api.code), err_code \(api.errorCode.rawValue))", api: api)
    }

    /// The server's `err_code`, when it answered an API error.
    ///
    /// Never inlined: Swift 6.3.1's optimizer, inlining this optional chain into a `catch ... where`
    /// clause that tests it twice (`consumerInfo(stream:name:)`), fails its ownership verification
    /// and crashes the release build.
    public var errorCode: JetStreamErrorCode? {
        @inline(never) get { api?.errorCode }
    }

    /// Whether an expected-last-sequence check failed (the subject or stream moved on).
    public var isWrongLastSequence: Bool { errorCode == .streamWrongLastSequence }

    /// Whether the server said the stream (or bucket) does not exist.
    public var isStreamNotFound: Bool { errorCode == .streamNotFound }

    public var description: String { "jetstream \(code): \(detail)" }

    /// `error`, thrown by the NATS connection during `context`, as a JetStream error (cancellation and
    /// JetStream errors stay as they are).
    static func wrapping(_ error: any Error, _ context: String) -> any Error {
        if error is JetStreamError || error is CancellationError { return error }
        guard let nats = error as? NATSError else { return JetStreamError(.connection, "\(context): \(error)") }
        switch nats.code {
        case .noResponders: return JetStreamError(.noResponders, "\(context): no responders (JetStream not enabled, or no stream for the subject)")
        case .timeout: return JetStreamError(.timeout, "\(context): \(nats.detail)")
        case .maxPayloadExceeded: return JetStreamError(.tooLarge, "\(context): \(nats.detail)")
        case .badSubject, .badHeader: return JetStreamError(.invalidArgument, "\(context): \(nats)")
        default: return JetStreamError(.connection, "\(context): \(nats)")
        }
    }
}
