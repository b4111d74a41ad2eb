import GRPCCore

/// A failure of an etcd request: what kind, on which member, and the underlying cause.
public struct EtcdError: Error, Sendable, CustomStringConvertible {
    /// The kinds of failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case unavailable, timeout, leaseNotFound, compacted, watchCanceled, invalidArgument, invalidResponse
            case permissionDenied, resourceExhausted, failedPrecondition, slowConsumer, cancelled, shutdown, unknown
        }
        private let wrapped: Wrapped

        /// No member could serve the request (connection refused or lost, no leader, leader changed).
        public static let unavailable = Code(wrapped: .unavailable)
        /// The request's deadline passed.
        public static let timeout = Code(wrapped: .timeout)
        /// The lease does not exist (it expired or was revoked).
        public static let leaseNotFound = Code(wrapped: .leaseNotFound)
        /// The requested revision was compacted away; ``EtcdError/compactRevision`` says where history starts.
        public static let compacted = Code(wrapped: .compacted)
        /// The server cancelled a watch.
        public static let watchCanceled = Code(wrapped: .watchCanceled)
        /// etcd rejected the request as malformed (an empty key, a value too large, a bad range).
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// A response did not have the shape etcd's API promises.
        public static let invalidResponse = Code(wrapped: .invalidResponse)
        /// Authentication is required or the user lacks permission.
        public static let permissionDenied = Code(wrapped: .permissionDenied)
        /// A message exceeded a size limit, or etcd is out of space or throttling.
        public static let resourceExhausted = Code(wrapped: .resourceExhausted)
        /// etcd refused the request in its current state (e.g. a transaction's duplicate key).
        public static let failedPrecondition = Code(wrapped: .failedPrecondition)
        /// A watch's consumer fell further behind than its buffer allows; the watch ended.
        public static let slowConsumer = Code(wrapped: .slowConsumer)
        /// The calling task was cancelled.
        public static let cancelled = Code(wrapped: .cancelled)
        /// The client is shut down.
        public static let shutdown = Code(wrapped: .shutdown)
        /// Anything else.
        public static let unknown = Code(wrapped: .unknown)

        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// Details, as etcd or the transport put them.
    public var message: String
    /// The member involved (`host:port`), when one was.
    public var endpoint: String?
    /// For ``Code/compacted``: the oldest revision still available.
    public var compactRevision: Int64?
    /// The underlying error, if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, endpoint: String? = nil, compactRevision: Int64? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.endpoint = endpoint
        self.compactRevision = compactRevision
        self.cause = cause
    }

    public var description: String {
        var s = "etcd \(code): \(message)"
        if let endpoint { s += " (\(endpoint))" }
        return s
    }

    /// Whether another attempt, possibly on another member, may succeed.
    public var isRetryable: Bool {
        code == .unavailable || code == .timeout
    }

    /// Maps any error of a call to `endpoint` to an ``EtcdError`` (etcd's status codes and messages,
    /// as its `rpctypes` defines them).
    static func from(_ error: any Error, endpoint: String?) -> EtcdError {
        if let e = error as? EtcdError { return e }
        if let rpc = error as? RPCError {
            let message = rpc.message
            let code: Code
            switch rpc.code {
            case .unavailable, .aborted: code = .unavailable
            case .deadlineExceeded: code = .timeout
            case .cancelled: code = .cancelled
            case .notFound: code = message.contains("lease") ? .leaseNotFound : .invalidArgument
            case .outOfRange: code = message.contains("compacted") ? .compacted : .invalidArgument
            case .invalidArgument: code = .invalidArgument
            case .permissionDenied, .unauthenticated: code = .permissionDenied
            case .resourceExhausted: code = .resourceExhausted
            case .failedPrecondition: code = .failedPrecondition
            case .internalError:
                // A response grpc could not decode, or etcd's own internal errors.
                code = message.contains("deserializ") || message.contains("decode") ? .invalidResponse : .unknown
            default:
                // etcd answers "etcdserver: request timed out" and "leader changed" as Unavailable, but
                // older members send some of them as Unknown.
                code = message.contains("leader") || message.contains("timed out") || message.contains("proposal dropped") ? .unavailable : .unknown
            }
            return EtcdError(code, message, endpoint: endpoint, cause: rpc)
        }
        if let runtime = error as? RuntimeError {
            switch runtime.code {
            case .clientIsStopped, .transportError: return EtcdError(.unavailable, runtime.message, endpoint: endpoint, cause: runtime)
            default: return EtcdError(.unknown, runtime.message, endpoint: endpoint, cause: runtime)
            }
        }
        if error is CancellationError { return EtcdError(.cancelled, "cancelled", endpoint: endpoint, cause: error) }
        return EtcdError(.unknown, "\(error)", endpoint: endpoint, cause: error)
    }
}
