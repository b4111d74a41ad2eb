/// A store operation that failed: what kind of failure, and the detail. Codes are an open set, so
/// backends and later versions can add kinds without breaking a `switch` with a `default`.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of store failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case notFound, conflict, invalidKey, invalidName, invalidArgument, tooLarge, unavailable, malformed, unsupported
        }
        private let wrapped: Wrapped
        /// The record an operation requires does not exist (or has expired).
        public static let notFound = Code(wrapped: .notFound)
        /// A write's or delete's condition failed: the record exists when it should not, or its revision
        /// has moved on. Nothing was changed.
        public static let conflict = Code(wrapped: .conflict)
        /// A key (or prefix, suffix) is empty where it may not be, too long, or holds a NUL.
        public static let invalidKey = Code(wrapped: .invalidKey)
        /// A database or table name is not 1 to 48 of `[A-Za-z0-9_-]`.
        public static let invalidName = Code(wrapped: .invalidName)
        /// Some other argument is out of range: a negative limit or offset, a TTL that is not positive,
        /// metadata holding a NUL.
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// A value or its metadata is larger than the store's ``StoreLimits``.
        public static let tooLarge = Code(wrapped: .tooLarge)
        /// The backend cannot be reached or used now (closed, I/O error, database gone); the operation
        /// may or may not have been applied only where the backend says so in the detail.
        public static let unavailable = Code(wrapped: .unavailable)
        /// What the backend holds cannot be read back as a record (a corrupt row, a value that does not
        /// decode as the requested type).
        public static let malformed = Code(wrapped: .malformed)
        /// The backend cannot do this at all (listing its databases, say).
        public static let unsupported = Code(wrapped: .unsupported)
        /// Every code, for mapping a code's ``description`` back to it (a store service's errors).
        public static let all: [Code] = [.notFound, .conflict, .invalidKey, .invalidName, .invalidArgument, .tooLarge,
                                         .unavailable, .malformed, .unsupported]
        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// Details, for people.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "store \(code): \(detail)" }

    /// As a ``MicroError`` from `micro.store`: 404, 409, 400, 413, 503, 501 or 500. The detail is
    /// ``description``, `store <code>: <detail>`, so a caller can tell the code back (``init(_:)``).
    public var microError: MicroError {
        let id = "micro.store"
        switch code {
        case .notFound: return .notFound(id, description)
        case .conflict: return .conflict(id, description)
        case .invalidKey, .invalidName, .invalidArgument: return .badRequest(id, description)
        case .tooLarge: return .tooLarge(id, description)
        case .unavailable: return .unavailable(id, description)
        case .unsupported: return MicroError(id: id, code: 501, detail: description)
        default: return .internalServerError(id, description)
        }
    }

    /// The store error a ``MicroError`` from a store service stands for: the code its detail names
    /// (`store conflict: …`, as ``microError`` writes it), else one from its status (404 not found,
    /// 409 conflict, 400 invalid argument, 413 too large, 501 unsupported, anything else unavailable).
    public init(_ error: MicroError) {
        let prefix = "store "
        if error.detail.hasPrefix(prefix), let colon = error.detail.firstIndex(of: ":") {
            let name = error.detail[error.detail.index(error.detail.startIndex, offsetBy: prefix.count)..<colon]
            if let code = Code.all.first(where: { $0.description == name }) {
                let rest = error.detail[error.detail.index(after: colon)...].drop { $0 == " " }
                self.init(code, String(rest))
                return
            }
        }
        switch error.code {
        case 404: self.init(.notFound, error.detail)
        case 409: self.init(.conflict, error.detail)
        case 400: self.init(.invalidArgument, error.detail)
        case 413: self.init(.tooLarge, error.detail)
        case 501: self.init(.unsupported, error.detail)
        default: self.init(.unavailable, "\(error.id): \(error.detail) (\(error.code))")
        }
    }
}
