import EtcdClient
import Logging
import MicroCore

/// ``MicroCore/Sync`` on etcd (`MICRO_SYNC=etcd`, `MICRO_SYNC_ADDRESS` the members): a lock is the key
/// `/micro/sync/<lock key>` attached to a lease of its own.
///
/// - Acquiring reads the key (a held lock costs one read), grants a lease of the TTL (etcd rounds it up
///   to whole seconds, at least its minimum of about 2 s) and puts the key in a transaction that
///   requires it absent (`create_revision == 0`). The transaction's revision — the key's
///   `create_revision` — is the ``MicroCore/FencingToken``: etcd's revisions only grow, cluster-wide.
/// - Renewing refreshes the lease over the client's one keep-alive stream (the registry's); etcd
///   answering that the lease is gone is ``MicroCore/SyncError/Code/lost``.
/// - Releasing revokes the lease, which deletes the key; an expired lease deletes it too.
/// - A transaction whose answer is lost is not sent again: its lease is revoked, so a key it may have
///   made goes with it.
/// - Observing a leader follows an etcd watch of its key (``watchHolder(of:)``) over the client's one
///   `Watch` stream, which resumes from the next revision after a member is lost; nothing polls.
///
/// With `MICRO_REGISTRY=etcd` on the same members, the `etcd` engine plugin makes the sync on the
/// registry's client: one connection, one keep-alive stream, one watch stream for both.
public final class EtcdSync: Sync, HolderWatching {
    /// Always `etcd`.
    public let name = "etcd"
    /// The client, which others may share.
    public let client: EtcdConnection
    /// What every lock key starts with (default `/micro/sync/`).
    public let prefix: String
    private let ownsClient: Bool

    /// Locks on `client`, which others may share; ``shutdown()`` leaves it open.
    public init(client: EtcdConnection, prefix: String = "/micro/sync/") {
        self.client = client
        self.prefix = prefix
        self.ownsClient = false
    }

    /// Locks with a client of their own on `etcd`'s members, closed by ``shutdown()``.
    public init(etcd: EtcdConfiguration, prefix: String = "/micro/sync/", logger: Logger = Logger(label: "micro.sync.etcd")) throws {
        client = try EtcdConnection(configuration: etcd, logger: logger)
        self.prefix = prefix
        ownsClient = true
    }

    /// Locks on the members in a comma-separated list (`MICRO_SYNC_ADDRESS`; empty or nil: `127.0.0.1:2379`).
    public convenience init(addresses: String?, logger: Logger = Logger(label: "micro.sync.etcd")) throws {
        try self.init(etcd: EtcdConfiguration(addresses: addresses), logger: logger)
    }

    /// The etcd key that holds lock `key`.
    public func etcdKey(_ key: String) -> String { prefix + key }

    public func acquire(_ key: String, holder: String, ttl: Duration) async throws -> LockGrant? {
        try SyncName.validate(key: key)
        try SyncName.validate(ttl: ttl)
        try SyncName.validate(holder: holder)
        let etcdKey = self.etcdKey(key)
        let lease: EtcdLease
        do {
            if try await client.get(etcdKey) != nil { return nil }
            lease = try await client.grantLease(ttl: ttl)
        } catch {
            throw Self.syncError(error, "acquire \(key)")
        }
        do {
            let result = try await client.txn(EtcdTxn(compare: [.absent(etcdKey)], success: [.put(etcdKey, Array(holder.utf8), lease: lease.id)]))
            guard result.succeeded else {
                try? await client.revokeLease(lease.id)
                return nil
            }
            guard result.revision > 0 else { throw SyncError(.malformed, "etcd answered revision \(result.revision)") }
            return LockGrant(key: key, holder: holder, token: FencingToken(lock: key, value: UInt64(result.revision)), ttl: ttl,
                             handle: UInt64(bitPattern: lease.id))
        } catch {
            try? await client.revokeLease(lease.id)
            throw Self.syncError(error, "acquire \(key)")
        }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant {
        do {
            try await client.refreshLease(Int64(bitPattern: grant.handle))
            return grant
        } catch let error as EtcdError where error.code == .leaseNotFound {
            throw SyncError(.lost, "the lease of \(grant.key) (\(grant.token)) is gone")
        } catch {
            throw Self.syncError(error, "renew \(grant.key)")
        }
    }

    public func release(_ grant: LockGrant) async throws {
        do { try await client.revokeLease(Int64(bitPattern: grant.handle)) } catch { throw Self.syncError(error, "release \(grant.key)") }
    }

    public func holder(of key: String) async throws -> LockHolder? {
        try SyncName.validate(key: key)
        let found: EtcdKeyValue?
        do { found = try await client.get(etcdKey(key)) } catch { throw Self.syncError(error, "read \(key)") }
        guard let found else { return nil }
        return try lockHolder(found, key: key)
    }

    /// The holder a lock key's value names, with its create revision as the token.
    func lockHolder(_ found: EtcdKeyValue, key: String) throws -> LockHolder {
        guard found.createRevision > 0, let holder = String(validating: found.value, as: UTF8.self) else {
            throw SyncError(.malformed, "\(etcdKey(key)) does not hold a lock (create revision \(found.createRevision))")
        }
        return LockHolder(holder: holder, token: FencingToken(lock: key, value: UInt64(found.createRevision)))
    }

    /// The holders of `key` as they change: a read, then an etcd watch from the revision after it
    /// (read again if etcd compacted that history away).
    public func watchHolder(of key: String) -> any AsyncSequence<LockHolder?, any Error> & Sendable {
        EtcdHolderWatch(sync: self, key: key)
    }

    /// Shuts a client of its own down (its leases then expire after their TTL); a shared one stays.
    public func shutdown() async {
        if ownsClient { await client.shutdown() }
    }

    /// An etcd failure as a sync error: cancellation stays; an answer that is not what etcd's API
    /// promises is ``MicroCore/SyncError/Code/malformed``; the rest is ``MicroCore/SyncError/Code/unavailable``.
    static func syncError(_ error: any Error, _ operation: String) -> any Error {
        if error is SyncError || error is CancellationError { return error }
        guard let etcd = error as? EtcdError else { return SyncError(.unavailable, "etcd \(operation): \(error)") }
        switch etcd.code {
        case .cancelled: return CancellationError()
        case .invalidResponse: return SyncError(.malformed, "etcd \(operation): \(etcd)")
        default: return SyncError(.unavailable, "etcd \(operation): \(etcd)")
        }
    }
}
