/// An auth operation that failed: what kind, and the detail. Codes are an open set. Each maps to the
/// go-micro error a caller sees: ``Code/unauthorized`` and ``Code/invalidToken`` are 401,
/// ``Code/forbidden`` 403. The detail never holds a token or a secret.
public struct AuthError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of auth failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case unauthorized, invalidToken, forbidden, invalidCredentials, notFound, conflict, invalidArgument, unavailable
        }
        private let wrapped: Wrapped
        /// No valid token came with a call that needs one (401).
        public static let unauthorized = Code(wrapped: .unauthorized)
        /// A token came but is not acceptable: malformed, badly signed, expired, not for us, too large (401).
        public static let invalidToken = Code(wrapped: .invalidToken)
        /// The caller's account may not reach the resource (403).
        public static let forbidden = Code(wrapped: .forbidden)
        /// An id and secret, or a refresh token, that do not buy a token (401).
        public static let invalidCredentials = Code(wrapped: .invalidCredentials)
        /// No such account or rule (404).
        public static let notFound = Code(wrapped: .notFound)
        /// The account or rule exists already (409).
        public static let conflict = Code(wrapped: .conflict)
        /// An argument out of range: an empty id, an unknown account type (400).
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// The auth's store or service cannot be reached (503).
        public static let unavailable = Code(wrapped: .unavailable)
        public var description: String { "\(wrapped)" }

        var status: Int32 {
            switch wrapped {
            case .unauthorized, .invalidToken, .invalidCredentials: 401
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .invalidArgument: 400
            case .unavailable: 503
            }
        }
    }

    /// What happened.
    public var code: Code
    /// Details, for people (never a token or secret).
    public var detail: String

    /// An error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "AuthError(\(code)): \(detail)" }

    /// go-micro's 401/403/... error with id `go.micro.auth`.
    public var microError: MicroError {
        MicroError(id: "go.micro.auth", code: code.status, detail: detail)
    }
}
