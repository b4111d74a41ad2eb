import MicroCore

/// A Kubernetes API call that failed: the kind of failure, the API server's own message (its `Status`
/// object's), and the HTTP status when there was one. Codes are an open set, as ``StoreError``'s are.
public struct KubernetesError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case notFound, alreadyExists, conflict, unauthorized, forbidden, invalid, badResponse, unavailable, notReady
        }
        private let wrapped: Wrapped
        /// No such object (404).
        public static let notFound = Code(wrapped: .notFound)
        /// An object by that name exists already (409 on create).
        public static let alreadyExists = Code(wrapped: .alreadyExists)
        /// The object changed since it was read: its `resourceVersion` no longer matches (409 on update).
        public static let conflict = Code(wrapped: .conflict)
        /// The bearer token was refused (401).
        public static let unauthorized = Code(wrapped: .unauthorized)
        /// The token may not do this (403).
        public static let forbidden = Code(wrapped: .forbidden)
        /// The request was refused as invalid (400, 422), or a name or setting is not valid here.
        public static let invalid = Code(wrapped: .invalid)
        /// The answer is not what the API documents (bad JSON, too large, an unexpected status).
        public static let badResponse = Code(wrapped: .badResponse)
        /// The API server cannot be reached or answered 5xx.
        public static let unavailable = Code(wrapped: .unavailable)
        /// A Deployment did not become ready in time.
        public static let notReady = Code(wrapped: .notReady)
        private init(wrapped: Wrapped) { self.wrapped = wrapped }
        public var description: String { wrapped.rawValue }
    }

    /// What happened.
    public var code: Code
    /// Details, for people (the API server's message when it sent one).
    public var detail: String
    /// The HTTP status of the answer, when there was one.
    public var status: Int?

    /// Creates an error.
    public init(_ code: Code, _ detail: String, status: Int? = nil) {
        self.code = code
        self.detail = detail
        self.status = status
    }

    public var description: String { "kubernetes \(code): \(detail)" + (status.map { " (HTTP \($0))" } ?? "") }

    /// As a ``MicroError`` from `runtime`.
    public var microError: MicroError {
        switch code {
        case .notFound: return .notFound("runtime", description)
        case .alreadyExists, .conflict: return .conflict("runtime", description)
        case .unauthorized: return .unauthorized("runtime", description)
        case .forbidden: return .forbidden("runtime", description)
        case .unavailable, .notReady: return .unavailable("runtime", description)
        default: return .badRequest("runtime", description)
        }
    }
}
