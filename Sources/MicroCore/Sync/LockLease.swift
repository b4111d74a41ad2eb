import NIOConcurrencyHelpers

/// A held lock: its ``token`` for fencing, a renewal that runs while it is held, and a signal the
/// moment it is lost (``lost()``).
///
/// The lease renews itself every third of its TTL in a task it owns; when a renewal is refused (the
/// engine dropped the grant, someone else holds the lock) or none succeeds before the TTL has passed
/// since the last one began, the lease is lost at once: ``isHeld`` turns false and ``lost()`` returns
/// the reason. ``release()`` ends the renewal and gives the lock up; dropping the lease without
/// releasing it ends the renewal and the lock expires after its TTL.
public final class LockLease: Sendable {
    /// The lock's name, as asked for.
    public let name: String
    /// The holder's identity.
    public let holder: String
    /// The acquisition's token: greater than every earlier acquisition's of this lock.
    public let token: FencingToken
    /// The TTL the lease renews by.
    public let ttl: Duration
    private let core: Core
    private let renewer: Task<Void, Never>

    /// What the renewal task shares with the lease (not the lease itself, so dropping the lease ends it).
    private final class Core: Sendable {
        let sync: any Sync
        let grant: NIOLockedValueBox<LockGrant>
        let ended = SyncSignal<SyncError>()

        init(sync: any Sync, grant: LockGrant) {
            self.sync = sync
            self.grant = NIOLockedValueBox(grant)
        }

        /// Ends the lease as lost (unless it ended already).
        func lose(_ error: SyncError) { ended.fire(error) }
    }

    /// A lease on `grant`, acquired by a request sent at `start`; renews through `sync` from now on.
    package init(name: String, grant: LockGrant, sync: any Sync, start: ContinuousClock.Instant) {
        self.name = name
        self.holder = grant.holder
        self.token = grant.token
        self.ttl = grant.ttl
        let core = Core(sync: sync, grant: grant)
        self.core = core
        renewer = Task { await Self.renew(core, LeaseRenewal(ttl: grant.ttl, start: start)) }
    }

    deinit { renewer.cancel() }

    /// Whether the lease is held: neither lost nor released.
    public var isHeld: Bool { core.ended.value == nil }

    /// The grant as the engine last confirmed it.
    public var grant: LockGrant { core.grant.withLockedValue { $0 } }

    /// Waits until the lease ends: the reason it was lost (``SyncError/Code/lost``), or nil when it was
    /// released or the waiting task was cancelled.
    public func lost() async -> SyncError? {
        await core.ended.wait()
    }

    /// Ends the renewal and gives the lock up. Throws ``SyncError/Code/unavailable`` when the engine
    /// could not be told (the lock then expires after its TTL); a lease already lost is left alone.
    public func release() async throws {
        renewer.cancel()
        await renewer.value
        guard core.ended.fire(nil) else { return }
        try await core.sync.release(grant)
    }

    private enum Attempt: Sendable {
        case renewed(LockGrant)
        case failed(any Error)
        case expired
    }

    /// Renews until cancelled or lost.
    private static func renew(_ core: Core, _ initial: LeaseRenewal) async {
        var timing = initial
        while !Task.isCancelled {
            try? await Task.sleep(until: timing.wake, clock: .continuous)
            if Task.isCancelled { return }
            let start = ContinuousClock.now
            if timing.expired(at: start) {
                return core.lose(SyncError(.lost, "no renewal of \(core.grant.withLockedValue { $0.key }) succeeded within its TTL (\(timing.ttl))"))
            }
            let grant = core.grant.withLockedValue { $0 }
            let deadline = timing.validUntil
            let ttl = timing.ttl
            // The renewal races the end of validity: the loss is signalled the moment validity ends,
            // whatever the engine is doing.
            let attempt = await withTaskGroup(of: Attempt?.self) { group in
                group.addTask {
                    do { return .renewed(try await core.sync.renew(grant)) } catch { return .failed(error) }
                }
                group.addTask {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    if Task.isCancelled { return nil }
                    core.lose(SyncError(.lost, "no renewal of \(grant.key) succeeded within its TTL (\(ttl))"))
                    return .expired
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            switch attempt {
            case .renewed(let renewed):
                core.grant.withLockedValue { $0 = renewed }
                timing.renewed(start: start)
            case .failed(let error as SyncError) where error.code == .lost:
                return core.lose(error)
            case .failed:
                if Task.isCancelled { return }
                timing.failed(at: .now)
            case .expired, nil:
                return
            }
        }
    }
}
