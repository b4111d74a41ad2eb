import EtcdClient
import Synchronization

/// The etcd leases an ``EtcdStore``'s TTL writes attach their keys to: one per rounded TTL, shared by
/// the writes made while it still outlives their records by a margin, so a burst of TTL writes costs
/// one lease grant rather than one each.
///
/// A TTL rounds up to whole seconds, plus a slack of 2 s or an eighth of it (whichever is more); a
/// lease of that length is reused while it ends at least 1 s after a new record's expiry, so etcd
/// never removes a record before its expiry and removes it at most about the slack after. Leases are
/// never revoked (a replaced record's lease may hold other records); they run out by themselves.
final class EtcdStoreLeases: Sendable {
    /// A lease granted, and when it ends at the earliest (its grant was sent, plus its TTL).
    private struct Held: Sendable {
        let id: Int64
        let ends: ContinuousClock.Instant
    }

    /// The longest lease etcd grants (its `MaxLeaseTTL`, about 285 years).
    static let maxSeconds: Int64 = 9_000_000_000
    /// How much longer than a record a lease it gets must live at the least.
    static let margin: Duration = .seconds(1)

    private let held = Mutex<[Int64: Held]>([:])

    init() {}

    /// The lease for a record written now that lives `ttl`: one held for its rounded TTL if it lives
    /// long enough, else a new one from `client`.
    func lease(for ttl: Duration, client: EtcdConnection) async throws -> Int64 {
        let seconds = Self.seconds(for: ttl)
        let ttl = min(ttl, .seconds(seconds) - Self.margin)
        let needed = ContinuousClock.now + ttl + Self.margin
        if let lease = held.withLock({ $0[seconds] }), lease.ends >= needed { return lease.id }
        let sent = ContinuousClock.now
        let granted = try await client.grantLease(ttl: .seconds(seconds))
        let lease = Held(id: granted.id, ends: sent + .seconds(granted.ttl))
        held.withLock { leases in
            let now = ContinuousClock.now
            leases = leases.filter { $0.value.ends > now }
            if leases[seconds].map({ $0.ends < lease.ends }) ?? true { leases[seconds] = lease }
        }
        return lease.id
    }

    /// Stops handing out `id` (etcd no longer has it).
    func forget(_ id: Int64) {
        held.withLock { leases in leases = leases.filter { $0.value.id != id } }
    }

    /// The length of the lease for `ttl`, in seconds: rounded up, plus the slack.
    static func seconds(for ttl: Duration) -> Int64 {
        let (whole, fraction) = ttl.components
        guard whole < maxSeconds else { return maxSeconds }
        let base = max(1, whole + (fraction > 0 ? 1 : 0))
        return min(maxSeconds, base + max(2, base / 8))
    }
}
