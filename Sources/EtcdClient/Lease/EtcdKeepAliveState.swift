/// The bookkeeping of the one lease keep-alive stream of an ``EtcdConnection``: which leases it keeps
/// alive continuously, which one-shot refreshes wait for an answer, and what to send when.
///
/// A value type without I/O, tested on its own; ``EtcdLeaseKeeper`` drives it. Like etcd's Go client,
/// a continuously kept lease is refreshed every third of its TTL; a refresh that got no answer is
/// sent again after ``resendInterval``.
struct EtcdKeepAliveState: Sendable {
    typealias Instant = ContinuousClock.Instant

    struct Lease: Sendable {
        /// The TTL last granted or refreshed, in seconds.
        var ttl: Int64
        /// Kept alive until stopped (rather than only refreshed on request).
        var continuous: Bool
        /// When to send the next refresh (continuous leases).
        var nextSend: Instant
        /// A refresh was sent at this time and got no answer yet.
        var outstandingSince: Instant?
        /// One-shot refreshes waiting for the answer.
        var waiters: [UInt64] = []
    }

    /// What an answer did.
    struct Answer: Sendable, Equatable {
        /// Waiters to resume: with the new TTL, or with "lease not found" when ``lost``.
        var waiters: [UInt64]
        /// The lease is gone (etcd answered with a TTL of 0 or less).
        var lost: Bool
        /// It was kept continuously (whoever asked for that should hear of the loss).
        var wasContinuous: Bool
    }

    private(set) var leases: [Int64: Lease] = [:]
    let resendInterval: Duration

    init(resendInterval: Duration = .seconds(1)) {
        self.resendInterval = resendInterval
    }

    /// The interval between refreshes of a lease of `ttl` seconds: a third of it, at least 100 ms.
    static func refreshInterval(ttl: Int64) -> Duration {
        max(.milliseconds(100), .milliseconds(max(ttl, 0) * 1000 / 3))
    }

    /// Keeps `id` alive from now on, every third of `ttl`; the first refresh is due a third of the
    /// TTL from now (the lease was just granted or refreshed).
    mutating func keepAlive(_ id: Int64, ttl: Int64, now: Instant) {
        var lease = leases[id] ?? Lease(ttl: ttl, continuous: true, nextSend: now)
        lease.ttl = ttl
        lease.continuous = true
        lease.nextSend = now + Self.refreshInterval(ttl: ttl)
        leases[id] = lease
    }

    /// Stops keeping `id` alive (waiting one-shot refreshes still get their answer).
    mutating func stop(_ id: Int64) {
        guard var lease = leases[id] else { return }
        lease.continuous = false
        leases[id] = lease.waiters.isEmpty ? nil : lease
    }

    /// Registers a one-shot refresh of `id` by `waiter`; returns whether to send it now (false when
    /// one is already on its way and not overdue).
    mutating func refreshOnce(_ id: Int64, waiter: UInt64, now: Instant) -> Bool {
        var lease = leases[id] ?? Lease(ttl: 0, continuous: false, nextSend: now)
        lease.waiters.append(waiter)
        let send: Bool
        if let since = lease.outstandingSince, now - since < resendInterval {
            send = false
        } else {
            lease.outstandingSince = now
            send = true
        }
        leases[id] = lease
        return send
    }

    /// Forgets a waiter that gave up.
    mutating func cancel(waiter: UInt64, lease id: Int64) {
        guard var lease = leases[id] else { return }
        lease.waiters.removeAll { $0 == waiter }
        leases[id] = (lease.waiters.isEmpty && !lease.continuous) ? nil : lease
    }

    /// The leases to refresh now: continuous ones that are due and unanswered refreshes that are
    /// overdue. Marks them sent.
    mutating func due(now: Instant) -> [Int64] {
        var ids: [Int64] = []
        for (id, var lease) in leases {
            var send = false
            if let since = lease.outstandingSince {
                send = now - since >= resendInterval
            } else if lease.continuous, lease.nextSend <= now {
                send = true
            }
            guard send else { continue }
            lease.outstandingSince = now
            leases[id] = lease
            ids.append(id)
        }
        return ids.sorted()
    }

    /// When ``due(now:)`` will next have something to send (nil: nothing is kept alive or awaited).
    var nextDeadline: Instant? {
        leases.values.compactMap { l -> Instant? in
            if let since = l.outstandingSince { return since + resendInterval }
            return l.continuous ? l.nextSend : nil
        }.min()
    }

    /// The oldest refresh still unanswered, if any.
    var oldestOutstanding: Instant? { leases.values.compactMap(\.outstandingSince).min() }

    /// Applies etcd's answer for `id` with the lease's remaining `ttl` (≤ 0: the lease is gone).
    mutating func answered(_ id: Int64, ttl: Int64, now: Instant) -> Answer {
        guard var lease = leases[id] else { return Answer(waiters: [], lost: false, wasContinuous: false) }
        let waiters = lease.waiters
        if ttl <= 0 {
            leases[id] = nil
            return Answer(waiters: waiters, lost: true, wasContinuous: lease.continuous)
        }
        lease.waiters = []
        lease.outstandingSince = nil
        lease.ttl = ttl
        lease.nextSend = now + Self.refreshInterval(ttl: ttl)
        leases[id] = lease.continuous ? lease : nil
        return Answer(waiters: waiters, lost: false, wasContinuous: lease.continuous)
    }

    /// A new stream is open: everything kept or awaited is sent on it now (etcd may have lost
    /// unanswered refreshes with the old stream; refreshing every continuous lease at once also covers
    /// the time without a stream).
    mutating func streamOpened(now: Instant) -> [Int64] {
        for id in leases.keys { leases[id]?.outstandingSince = now }
        return leases.keys.sorted()
    }

    /// Drops every lease and returns every waiter (the client is shutting down).
    mutating func removeAll() -> [UInt64] {
        let waiters = leases.values.flatMap(\.waiters)
        leases = [:]
        return waiters
    }

    /// How many leases are kept alive continuously.
    var continuousCount: Int { leases.values.filter(\.continuous).count }
}
