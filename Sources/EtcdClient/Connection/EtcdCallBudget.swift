/// How many requests one connection to a member may carry within a window before the client opens
/// a fresh connection for the next ones (``EtcdConfiguration/connectionCallBudget``): the times of
/// the last `limit` requests, in a ring. A value type, tested on its own.
struct EtcdCallBudget: Sendable {
    /// The most requests within ``window``.
    let limit: Int
    /// The window.
    let window: Duration
    private var calls: [ContinuousClock.Instant] = []
    private var oldest = 0

    /// A budget of `limit` (at least 1) requests per `window`.
    init(limit: Int, window: Duration) {
        self.limit = max(1, limit)
        self.window = window
        calls.reserveCapacity(self.limit)
    }

    /// Records a request at `now` and returns true, or returns false (recording nothing) when `limit`
    /// requests were made within `window` before it.
    mutating func admit(now: ContinuousClock.Instant) -> Bool {
        if calls.count < limit {
            calls.append(now)
            return true
        }
        guard now - calls[oldest] >= window else { return false }
        calls[oldest] = now
        oldest = (oldest + 1) % limit
        return true
    }
}
