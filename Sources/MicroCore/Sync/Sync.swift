/// Locks and leader election with fencing tokens (go-micro's `sync.Sync`), on one engine.
///
/// Users call ``lock(_:ttl:wait:holder:)``, ``withLock(_:ttl:wait:holder:_:)`` and ``leader(_:)``
/// (extension methods built on the four primitives below, the same on every engine): a lock is held
/// through a ``LockLease`` that renews itself and says at once when it is lost; every acquisition
/// carries a ``FencingToken`` greater than any earlier one of the same lock.
///
/// ## Implementing an engine
/// The primitives take keys the core makes from validated names (`lock/<name>`, `leader/<name>`);
/// check them with ``SyncName/validate(key:)`` anyway, they are public. ``acquire(_:holder:ttl:)`` is
/// one attempt (the core waits and retries), atomic in the engine: the lock is taken only when no live
/// grant holds it, and the token comes from a number the engine only ever increases (an etcd revision,
/// a store revision) so a later acquisition's is greater. Errors are ``SyncError``s; an engine that
/// cannot be reached is ``SyncError/Code/unavailable``. ``StoreSync`` implements them on any ``Store``.
public protocol Sync: Engine {
    /// The engine's name as `MICRO_SYNC` spells it.
    var name: String { get }
    /// Takes `key` for `holder` for `ttl` if no live grant holds it: the grant, or nil when one does.
    func acquire(_ key: String, holder: String, ttl: Duration) async throws -> LockGrant?
    /// Extends `grant` by its TTL from now and returns it as it now is; throws ``SyncError/Code/lost``
    /// when it is no longer held (expired, released, taken).
    func renew(_ grant: LockGrant) async throws -> LockGrant
    /// Gives `grant` up; nothing happens when it is already gone.
    func release(_ grant: LockGrant) async throws
    /// Who holds `key` now, nil when no one does.
    func holder(of key: String) async throws -> LockHolder?
}
