/// ``Sync`` on any ``Store`` with conditional writes and TTLs: a lock is one record in a table of its
/// own (`micro_sync/locks` by default), holding its holder, living for the TTL.
///
/// - Acquiring writes the record with ``StoreCondition/ifAbsent`` (an expired record counts as absent,
///   so an unrenewed lock frees itself); the write's revision is the ``FencingToken``: the store's
///   revisions only grow, per key and never reused, so a later acquisition's is greater.
/// - Renewing rewrites it with ``StoreCondition/ifRevision(_:)`` of the last write and a fresh TTL
///   (the token goes along as metadata, so ``holder(of:)`` reads it back); a conflict means it is lost.
/// - Releasing deletes it with `ifRevision`, so a lease that was lost never deletes its successor.
///
/// Expiry is the store's: wall time in milliseconds of the writer's clock (the database server's for
/// none of them), so holders on different machines need their clocks in step to well within the TTL.
/// On SQLite, PostgreSQL, NATS JetStream key-value and etcd this is each store's own atomic
/// compare-and-set; `MICRO_SYNC=<store name>` makes one over that store.
public final class StoreSync: Sync {
    /// The store's name (`memory`, `sqlite`, `postgres`, ...).
    public var name: String { store.name }
    /// The store, bound to the lock table.
    public let store: any Store
    private let ownsStore: Bool

    /// The default lock table.
    public static let defaultScope = StoreScope(checked: "micro_sync", "locks")

    /// Locks in `store`'s table `scope`. With `ownsStore`, ``shutdown()`` shuts the store down.
    public init(store: any Store, scope: StoreScope = StoreSync.defaultScope, ownsStore: Bool = false) {
        self.store = store.scoped(scope)
        self.ownsStore = ownsStore
    }

    /// Locks in this process's memory (a ``MemoryStore`` of their own): for tests and single processes.
    public static func memory() -> StoreSync {
        StoreSync(store: MemoryStore(), ownsStore: true)
    }

    static let tokenMetadata = "token"

    public func acquire(_ key: String, holder: String, ttl: Duration) async throws -> LockGrant? {
        try SyncName.validate(key: key)
        try SyncName.validate(ttl: ttl)
        try SyncName.validate(holder: holder)
        do {
            let revision = try await store.write(StoreWrite(key: key, value: Array(holder.utf8), ttl: ttl, condition: .ifAbsent))
            return LockGrant(key: key, holder: holder, token: FencingToken(lock: key, value: revision), ttl: ttl, handle: revision)
        } catch let error as StoreError where error.code == .conflict {
            return nil
        } catch {
            throw Self.syncError(error, "acquire \(key)")
        }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant {
        do {
            let revision = try await store.write(StoreWrite(key: grant.key, value: Array(grant.holder.utf8),
                                                            metadata: [Self.tokenMetadata: String(grant.token.value)],
                                                            ttl: grant.ttl, condition: .ifRevision(grant.handle)))
            var renewed = grant
            renewed.handle = revision
            return renewed
        } catch let error as StoreError where error.code == .conflict {
            throw SyncError(.lost, "\(grant.key) is no longer held by \(grant.holder) (\(grant.token))")
        } catch {
            throw Self.syncError(error, "renew \(grant.key)")
        }
    }

    public func release(_ grant: LockGrant) async throws {
        do {
            _ = try await store.delete(grant.key, ifRevision: grant.handle)
        } catch let error as StoreError where error.code == .conflict {
            return
        } catch {
            throw Self.syncError(error, "release \(grant.key)")
        }
    }

    public func holder(of key: String) async throws -> LockHolder? {
        try SyncName.validate(key: key)
        let record: StoreRecord?
        do { record = try await store.read(key) } catch { throw Self.syncError(error, "read \(key)") }
        guard let record else { return nil }
        let token: UInt64
        if let text = record.metadata[Self.tokenMetadata] {
            guard let value = UInt64(text) else { throw SyncError(.malformed, "\(key) holds the token '\(StoreKey.printable(text))'") }
            token = value
        } else {
            token = record.revision
        }
        guard let holder = String(validating: record.value, as: UTF8.self) else {
            throw SyncError(.malformed, "\(key) holds a holder that is not UTF-8")
        }
        return LockHolder(holder: holder, token: FencingToken(lock: key, value: token))
    }

    /// Shuts the store down when this value owns it.
    public func shutdown() async {
        if ownsStore { await store.shutdown() }
    }

    /// A store failure as a sync error: cancellation stays, a store that cannot be reached is
    /// ``SyncError/Code/unavailable``, what cannot be read is ``SyncError/Code/malformed``.
    static func syncError(_ error: any Error, _ operation: String) -> any Error {
        if error is SyncError || error is CancellationError { return error }
        guard let store = error as? StoreError else { return SyncError(.unavailable, "\(operation): \(error)") }
        return SyncError(store.code == .malformed ? .malformed : .unavailable, "\(operation): \(store)")
    }
}
