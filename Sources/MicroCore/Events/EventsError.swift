/// An event stream or event store operation that failed: what kind of failure, and the detail. Codes
/// are an open set, so backends and later versions can add kinds without breaking a `switch` with a
/// `default`.
public struct EventsError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of events failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case invalidTopic, invalidArgument, tooLarge, unavailable, malformed, unsupported, conflict
        }
        private let wrapped: Wrapped
        /// A topic (or dead-letter topic) is not 1 to 128 bytes of `.`-separated tokens of `[A-Za-z0-9_-]`.
        public static let invalidTopic = Code(wrapped: .invalidTopic)
        /// Some other argument is out of range: an empty id, a group name, a limit, a wait that is not positive.
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// A payload, metadata or id is larger than the backend's ``EventLimits``.
        public static let tooLarge = Code(wrapped: .tooLarge)
        /// The backend cannot be reached or used now (closed, down, no answer in time).
        public static let unavailable = Code(wrapped: .unavailable)
        /// What the backend holds or delivered cannot be read as an event.
        public static let malformed = Code(wrapped: .malformed)
        /// The backend cannot do this at all.
        public static let unsupported = Code(wrapped: .unsupported)
        /// A consumer joined an existing group with other settings (ack wait, max deliveries, dead-letter
        /// topic) than the group has: a group has one set, its first member's.
        public static let conflict = Code(wrapped: .conflict)
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

    public var description: String { "events \(code): \(detail)" }

    /// As a ``MicroError`` from `micro.events`: 400, 409, 413, 503, 501 or 500.
    public var microError: MicroError {
        let id = "micro.events"
        switch code {
        case .invalidTopic, .invalidArgument: return .badRequest(id, description)
        case .tooLarge: return .tooLarge(id, description)
        case .unavailable: return .unavailable(id, description)
        case .unsupported: return MicroError(id: id, code: 501, detail: description)
        case .conflict: return .conflict(id, description)
        default: return .internalServerError(id, description)
        }
    }
}
