import Foundation

/// A failure of a Consul agent request or of decoding what an agent answered.
public struct ConsulError: Error, Sendable, CustomStringConvertible {
    /// The kinds of failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case unavailable, timeout, notFound, permissionDenied, badRequest, rateLimited, agentError
            case invalidResponse, responseTooLarge, invalidArgument, cancelled, shutdown
        }
        private let wrapped: Wrapped

        /// No agent could be reached (connection refused, reset or closed before an answer).
        public static let unavailable = Code(wrapped: .unavailable)
        /// The agent did not answer within the request's time.
        public static let timeout = Code(wrapped: .timeout)
        /// The agent answered 404 (an unknown service or check id).
        public static let notFound = Code(wrapped: .notFound)
        /// The agent answered 403: the ACL token is missing, unknown or lacks permission.
        public static let permissionDenied = Code(wrapped: .permissionDenied)
        /// The agent answered 400: it rejected the request as malformed.
        public static let badRequest = Code(wrapped: .badRequest)
        /// The agent answered 429: too many requests.
        public static let rateLimited = Code(wrapped: .rateLimited)
        /// The agent answered another non-2xx status (500: an internal or cluster error).
        public static let agentError = Code(wrapped: .agentError)
        /// The answer did not have the shape Consul's HTTP API documents (bad JSON, bad header, bad tag).
        public static let invalidResponse = Code(wrapped: .invalidResponse)
        /// The answer was larger than the configured bound.
        public static let responseTooLarge = Code(wrapped: .responseTooLarge)
        /// The caller's input cannot be sent (no name, no node).
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// The calling task was cancelled.
        public static let cancelled = Code(wrapped: .cancelled)
        /// The registry or client is shut down.
        public static let shutdown = Code(wrapped: .shutdown)

        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// Details: the agent's error text or the transport's.
    public var message: String
    /// The agent involved (`host:port`), when one was.
    public var endpoint: String?
    /// The HTTP status the agent answered, when it answered.
    public var status: Int?
    /// The underlying error, if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, endpoint: String? = nil, status: Int? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.cause = cause
    }

    public var description: String {
        var s = "consul \(code): \(message)"
        if let status { s += " (HTTP \(status))" }
        if let endpoint { s += " (\(endpoint))" }
        return s
    }

    /// Whether another agent of the list may succeed where this one failed.
    public var isRetryableOnAnotherAgent: Bool {
        switch code {
        case .unavailable, .timeout, .rateLimited: return true
        case .agentError: return status.map { $0 == 502 || $0 == 503 || $0 == 504 } ?? false
        default: return false
        }
    }

    /// The error for an agent's non-2xx answer.
    static func status(_ status: Int, body: [UInt8], endpoint: String) -> ConsulError {
        let text = String(decoding: body.prefix(512), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let code: Code
        switch status {
        case 400: code = .badRequest
        case 401, 403: code = .permissionDenied
        case 404: code = .notFound
        case 429: code = .rateLimited
        default: code = .agentError
        }
        return ConsulError(code, text.isEmpty ? "HTTP \(status)" : text, endpoint: endpoint, status: status)
    }
}
