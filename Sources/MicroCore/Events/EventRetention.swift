/// How long an event store keeps a topic's events: by age, by count (the latest kept), or both. The
/// default keeps everything.
public struct EventRetention: Sendable, Hashable {
    /// Events older than this (by ``Event/timestamp``) are removed and never read.
    public var maxAge: Duration?
    /// At most this many events per topic are kept: the latest written.
    public var maxCount: Int?

    /// A retention; the default keeps everything.
    public init(maxAge: Duration? = nil, maxCount: Int? = nil) {
        self.maxAge = maxAge
        self.maxCount = maxCount
    }

    /// Throws ``EventsError/Code/invalidArgument`` unless the age is positive and the count at least 1.
    public func validate() throws {
        if let maxAge, maxAge <= .zero { throw EventsError(.invalidArgument, "a retention age is positive, got \(maxAge)") }
        if let maxCount, maxCount < 1 { throw EventsError(.invalidArgument, "a retention count is at least 1, got \(maxCount)") }
    }

    /// The oldest timestamp kept at `now`, in milliseconds since 1970 (nil without an age).
    package func oldestMilliseconds(now: Int64) -> Int64? {
        maxAge.map { age in
            let (seconds, attoseconds) = age.components
            return now - seconds * 1000 - attoseconds / 1_000_000_000_000_000
        }
    }
}
