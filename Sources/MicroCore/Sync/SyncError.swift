/// A lock or leader operation that failed: what kind of failure, and the detail. Codes are an open set
/// (a struct wrapping a private enum), so backends and later versions can add kinds.
public struct SyncError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of sync failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case invalidName, invalidTTL, invalidArgument, timeout, lost, unavailable, malformed
        }
        private let wrapped: Wrapped
        /// A lock or leader name is not 1 to ``SyncName/maxLength`` of `[A-Za-z0-9_.-]` (dots only between tokens).
        public static let invalidName = Code(wrapped: .invalidName)
        /// A TTL is zero, negative or longer than ``SyncName/maxTTL``.
        public static let invalidTTL = Code(wrapped: .invalidTTL)
        /// Some other argument is out of range (a negative wait, an empty or oversized holder).
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// The lock was not free within the wait.
        public static let timeout = Code(wrapped: .timeout)
        /// The lease ended while held: it expired unrenewed, the engine dropped it, or another holder has the lock.
        public static let lost = Code(wrapped: .lost)
        /// The engine cannot be reached or used now.
        public static let unavailable = Code(wrapped: .unavailable)
        /// What the engine holds for a lock cannot be read as one.
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

    public var description: String { "sync \(code): \(detail)" }

    /// As a ``MicroError`` from `micro.sync`: 400 for bad arguments, 408 timeout, 409 lost, 503 unavailable, else 500.
    public var microError: MicroError {
        let id = "micro.sync"
        switch code {
        case .invalidName, .invalidTTL, .invalidArgument: return .badRequest(id, description)
        case .timeout: return MicroError(id: id, code: 408, detail: description)
        case .lost: return .conflict(id, description)
        case .unavailable: return .unavailable(id, description)
        default: return .internalServerError(id, description)
        }
    }
}
