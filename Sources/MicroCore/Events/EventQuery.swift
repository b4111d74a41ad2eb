import Foundation

/// Which of a topic's stored events a read returns: a time range (from inclusive, to exclusive), the
/// order by time (then sequence), and an offset and limit applied in that order.
public struct EventQuery: Sendable, Hashable {
    /// Oldest first or newest first.
    public enum Order: Sendable, Hashable {
        /// Oldest first.
        case ascending
        /// Newest first.
        case descending
    }

    /// The most events a read returns.
    public static let maxLimit = 10_000

    /// Events at or after this time.
    public var from: Date?
    /// Events before this time.
    public var to: Date?
    /// How many events at most (1 to ``maxLimit``; default 250, go-micro's).
    public var limit: Int
    /// How many matching events to skip first.
    public var offset: Int
    /// By time, oldest first unless descending.
    public var order: Order

    /// A query; the default is the oldest 250 events.
    public init(from: Date? = nil, to: Date? = nil, limit: Int = 250, offset: Int = 0, order: Order = .ascending) {
        self.from = from
        self.to = to
        self.limit = limit
        self.offset = offset
        self.order = order
    }

    /// Throws ``EventsError/Code/invalidArgument`` for a limit outside 1 to ``maxLimit``, a negative
    /// offset, or a range that ends before it starts.
    public func validate() throws {
        guard limit >= 1, limit <= Self.maxLimit else { throw EventsError(.invalidArgument, "a read's limit is 1 to \(Self.maxLimit), got \(limit)") }
        guard offset >= 0 else { throw EventsError(.invalidArgument, "a read's offset is at least 0, got \(offset)") }
        if let from, let to, to < from { throw EventsError(.invalidArgument, "a read's range ends before it starts") }
    }

    /// Whether `event`'s time is in the range.
    package func contains(_ event: Event) -> Bool {
        if let from, event.timestamp < Event.milliseconds(from) { return false }
        if let to, event.timestamp >= Event.milliseconds(to) { return false }
        return true
    }

    /// `events` (all of one topic) filtered by the range, sorted, offset and limited.
    package func apply(_ events: [Event]) -> [Event] {
        var matching = events.filter(contains)
        matching.sort { ($0.timestamp, $0.sequence) < ($1.timestamp, $1.sequence) }
        if order == .descending { matching.reverse() }
        return Array(matching.dropFirst(offset).prefix(limit))
    }
}
