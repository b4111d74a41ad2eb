/// When a lease renews and until when it is surely held: renewals every third of the TTL, a failed one
/// tried again after a twelfth, and the lease valid until the TTL has passed since the start of the
/// last renewal that succeeded (measured from the start, so a slow answer never stretches it).
struct LeaseRenewal: Sendable, Hashable {
    let ttl: Duration
    /// Until when the engine surely still holds the grant.
    private(set) var validUntil: ContinuousClock.Instant
    /// When to renew next.
    private(set) var nextRenewal: ContinuousClock.Instant

    /// A lease acquired by a request sent at `start`.
    init(ttl: Duration, start: ContinuousClock.Instant) {
        self.ttl = ttl
        validUntil = start + ttl
        nextRenewal = start + ttl / 3
    }

    /// When the loop wakes next: the renewal, or the end of validity if that comes first.
    var wake: ContinuousClock.Instant { min(nextRenewal, validUntil) }

    /// Whether the grant may have expired at `now`.
    func expired(at now: ContinuousClock.Instant) -> Bool { now >= validUntil }

    /// A renewal sent at `start` succeeded.
    mutating func renewed(start: ContinuousClock.Instant) {
        validUntil = max(validUntil, start + ttl)
        nextRenewal = start + ttl / 3
    }

    /// A renewal failed at `now` without saying the grant is gone: try again soon, before validity ends.
    mutating func failed(at now: ContinuousClock.Instant) {
        nextRenewal = min(now + ttl / 12, validUntil)
    }
}
