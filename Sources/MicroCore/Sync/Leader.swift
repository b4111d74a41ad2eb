/// A leader election (go-micro's `sync.Leader`): campaign to lead, observe who leads. Each term is a
/// lock acquisition of `leader/<name>`, so a term's ``Leadership/term`` token is greater than every
/// earlier term's.
public struct Leader: Sendable {
    /// The election's name.
    public let name: String
    let sync: any Sync

    package init(name: String, sync: any Sync) {
        self.name = name
        self.sync = sync
    }

    var key: String { "leader/" + name }

    /// Waits until this caller leads (or `wait` passes: ``SyncError/Code/timeout``; nil waits until the
    /// task is cancelled). Leadership lasts until ``Leadership/resign()`` or until its lease is lost.
    public func campaign(ttl: Duration, wait: Duration? = nil, holder: String? = nil) async throws -> Leadership {
        Leadership(lease: try await sync.acquireLease(name: name, key: key, ttl: ttl, wait: wait, holder: holder))
    }

    /// Who leads now, nil when no one does.
    public func current() async throws -> LockHolder? {
        try await sync.holder(of: key)
    }

    /// The leaders as they change (nil: no one leads); the first element is the leader now. An engine that
    /// watches (``HolderWatching``: etcd) reports each change as it happens and `interval` goes unused;
    /// others are asked every `interval`. It ends when the task iterating it is cancelled, and throws when
    /// the engine fails.
    public func observe(every interval: Duration = .milliseconds(100)) -> LeaderObservation {
        LeaderObservation(sync: sync, key: key, interval: interval)
    }
}
