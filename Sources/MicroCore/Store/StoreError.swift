/// A store operation that failed: what kind of failure, and the detail. Codes are an open set, so
/// backends and later versions can add kinds without breaking a `switch` with a `default`.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of store failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case notFound, conflict, invalidKey, invalidName, invalidArgument, tooLarge, unavailable, malformed
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

    /// As a ``MicroError`` from `micro.store`: 404, 409, 400, 413, 503 or 500.
    public var microError: MicroError {
        let id = "micro.store"
        switch code {
        case .notFound: return .notFound(id, description)
        case .conflict: return .conflict(id, description)
        case .invalidKey, .invalidName, .invalidArgument: return .badRequest(id, description)
        case .tooLarge: return .tooLarge(id, description)
        case .unavailable: return .unavailable(id, description)
        default: return .internalServerError(id, description)
        }
    }
}
