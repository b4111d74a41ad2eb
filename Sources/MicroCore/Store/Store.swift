/// Durable key-value records for services (go-micro's `store.Store`), with optimistic concurrency.
///
/// A store value is bound to one ``StoreScope`` (database and table); ``scoped(_:)`` gives the same
/// backend bound to another, sharing its connections. Every operation validates its arguments the same
/// way in every backend (``StoreKey``, ``StoreScope``, ``StoreWrite/validate(_:)``) and fails with a
/// ``StoreError``. Records past their expiry are never returned or listed. Prefix reads and lists are
/// in ascending byte order of the key. Writes return the record's new revision; a write or delete
/// with a condition that fails throws ``StoreError/Code/conflict`` and changes nothing.
///
/// Implementations: ``MemoryStore`` (in process) and engine modules (SQLite, the embedded default;
/// PostgreSQL, NATS JetStream key-value, etcd). A store is an ``Engine``: shutting down any scope of
/// it closes the backend for all of them. The `StoreConformance` test suite states the contract.
///
/// ## Implementing a backend
/// - Validate first, with the shared rules: ``StoreKey/validate(_:)``, ``StoreQuery/validate()``,
///   ``StoreWrite/validate(_:)`` (names are valid by construction of ``StoreScope``).
/// - Compare and order keys as bytes: SQLite's default `BINARY` collation, PostgreSQL's `COLLATE "C"`;
///   ``StoreKey/upperBound(ofPrefix:)`` turns a prefix into an index range.
/// - Revisions: from a sequence that only grows (per table, database or bucket), bumped atomically
///   with the write it numbers — never a per-key counter that restarts after a delete.
/// - Expiry: whole milliseconds (``StoreWrite/expiryMilliseconds(now:)``, ``StoreClock``); filter
///   expired rows in every query, before offset and limit; an expired row counts as absent for
///   ``StoreCondition/ifAbsent`` and does not match ``StoreCondition/ifRevision(_:)``.
/// - Check the condition in the same atomic step as the write (a transaction, a compare-and-swap),
///   and fail with ``StoreError/Code/conflict`` leaving everything as it was.
/// - Treat what the backend returns as untrusted: anything that is not a record is
///   ``StoreError/Code/malformed``; a backend that cannot be reached is ``StoreError/Code/unavailable``.
public protocol Store: Engine {
    /// The store's name as `MICRO_STORE` spells it (`memory`, `sqlite`, ...).
    var name: String { get }
    /// The database and table this value reads and writes.
    var scope: StoreScope { get }
    /// The largest value and metadata a write may carry.
    var limits: StoreLimits { get }

    /// The same backend bound to `scope`.
    func scoped(_ scope: StoreScope) -> any Store

    /// The live record under `key`, nil when there is none (or it has expired).
    func read(_ key: String) async throws -> StoreRecord?
    /// The live records matching `query`, in ascending byte order of the key.
    func read(_ query: StoreQuery) async throws -> [StoreRecord]
    /// Writes a record if its condition holds and returns its new revision; throws
    /// ``StoreError/Code/conflict`` (changing nothing) when the condition fails.
    func write(_ write: StoreWrite) async throws -> UInt64
    /// Deletes the record under `key`: true when a live record was deleted, false when there was none.
    /// With `ifRevision`, only that revision is deleted; a missing record or another revision throws
    /// ``StoreError/Code/conflict``.
    func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool
    /// The keys of the live records matching `query`, in ascending byte order.
    func list(_ query: StoreQuery) async throws -> [String]
    /// The databases of this store that hold tables, in ascending order (go-micro's `Store.Databases`).
    /// A backend may create a database or table on first use, so one only read may be listed too.
    /// The default throws ``StoreError/Code/unsupported``.
    func databases() async throws -> [String]
    /// The tables of this value's database, in ascending order (go-micro's `Store.Tables`), as
    /// ``databases()`` lists databases. The default throws ``StoreError/Code/unsupported``.
    func tables() async throws -> [String]
}

extension Store {
    public func databases() async throws -> [String] {
        throw StoreError(.unsupported, "the \(name) store cannot list its databases")
    }

    public func tables() async throws -> [String] {
        throw StoreError(.unsupported, "the \(name) store cannot list its tables")
    }
}
