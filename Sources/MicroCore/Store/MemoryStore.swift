import NIOConcurrencyHelpers

/// A store held in this process's memory, for tests and single-process programs: every scope of one
/// `MemoryStore` (the values ``scoped(_:)`` returns) shares its tables; records vanish with the process.
///
/// Each table is a dictionary of records by key plus its keys in byte order, behind one lock: a read
/// by key is a lock and a hash lookup, a prefix read a binary search and a walk.
public final class MemoryStore: Store {
    /// Always `memory`.
    public let name = "memory"
    public let scope: StoreScope
    public let limits: StoreLimits
    private let tables: NIOLockedValueBox<[StoreScope: MemoryStoreTable]>
    private let table: MemoryStoreTable

    /// An empty store bound to `scope`, taking values and metadata up to `limits`.
    public init(scope: StoreScope = .default, limits: StoreLimits = StoreLimits()) {
        self.scope = scope
        self.limits = limits
        let table = MemoryStoreTable()
        self.table = table
        self.tables = NIOLockedValueBox([scope: table])
    }

    private init(tables: NIOLockedValueBox<[StoreScope: MemoryStoreTable]>, scope: StoreScope, limits: StoreLimits) {
        self.scope = scope
        self.limits = limits
        self.tables = tables
        self.table = tables.withLockedValue { all in
            if let existing = all[scope] { return existing }
            let created = MemoryStoreTable()
            all[scope] = created
            return created
        }
    }

    public func scoped(_ scope: StoreScope) -> any Store {
        MemoryStore(tables: tables, scope: scope, limits: limits)
    }

    public func read(_ key: String) async throws -> StoreRecord? {
        try StoreKey.validate(key)
        let found = table.state.withLockedValue { $0.entries[MemoryStoreTable.Key(string: key)] }
        guard let entry = found, entry.expiry == nil || entry.isLive(at: StoreClock.nowMilliseconds()) else { return nil }
        return entry.record
    }

    public func read(_ query: StoreQuery) async throws -> [StoreRecord] {
        try query.validate()
        let now = StoreClock.nowMilliseconds()
        return table.state.withLockedValue { $0.matching(query, now: now) }.map(\.1.record)
    }

    public func list(_ query: StoreQuery) async throws -> [String] {
        try query.validate()
        let now = StoreClock.nowMilliseconds()
        return table.state.withLockedValue { $0.matching(query, now: now) }.map(\.0.string)
    }

    public func write(_ write: StoreWrite) async throws -> UInt64 {
        try write.validate(limits)
        let now = StoreClock.nowMilliseconds()
        let expiry = write.expiryMilliseconds(now: now)
        let key = MemoryStoreTable.Key(string: write.key)
        return try table.state.withLockedValue { s in
            let existing = s.entries[key]
            let live = existing.flatMap { $0.isLive(at: now) ? $0 : nil }
            switch write.condition {
            case .always: break
            case .ifAbsent:
                if live != nil { throw StoreError(.conflict, "'\(StoreKey.printable(write.key))' exists (revision \(live!.revision))") }
            case .ifRevision(let expected):
                guard let live else { throw StoreError(.conflict, "'\(StoreKey.printable(write.key))' does not exist (expected revision \(expected))") }
                if live.revision != expected {
                    throw StoreError(.conflict, "'\(StoreKey.printable(write.key))' is at revision \(live.revision), not \(expected)")
                }
            }
            s.sequence += 1
            s.entries[key] = .init(key: write.key, value: write.value, metadata: write.metadata, expiry: expiry, revision: s.sequence)
            if existing == nil { s.sorted.insert(key, at: s.lowerBound(write.key)) }
            if let expiry { s.earliestExpiry = min(s.earliestExpiry ?? expiry, expiry) }
            let revision = s.sequence
            s.sweepIfDue(now: now)
            return revision
        }
    }

    public func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try StoreKey.validate(key)
        let now = StoreClock.nowMilliseconds()
        let k = MemoryStoreTable.Key(string: key)
        return try table.state.withLockedValue { s in
            guard let existing = s.entries[k] else {
                if let ifRevision { throw StoreError(.conflict, "'\(StoreKey.printable(key))' does not exist (expected revision \(ifRevision))") }
                return false
            }
            let live = existing.isLive(at: now)
            if let ifRevision {
                guard live else { throw StoreError(.conflict, "'\(StoreKey.printable(key))' does not exist (expected revision \(ifRevision))") }
                if existing.revision != ifRevision {
                    throw StoreError(.conflict, "'\(StoreKey.printable(key))' is at revision \(existing.revision), not \(ifRevision)")
                }
            }
            s.remove(k)
            return live
        }
    }

    /// The databases with a table that has been written to, in ascending order.
    public func databases() async throws -> [String] {
        Set(writtenScopes().map(\.database)).sorted()
    }

    /// The tables of this database that have been written to, in ascending order.
    public func tables() async throws -> [String] {
        writtenScopes().filter { $0.database == scope.database }.map(\.table).sorted()
    }

    private func writtenScopes() -> [StoreScope] {
        let all = tables.withLockedValue { Array($0) }
        return all.filter { $0.value.state.withLockedValue { $0.sequence > 0 } }.map(\.key)
    }

    /// How many records this scope's table holds, expired ones not yet swept included (for tests).
    package var entryCount: Int { table.state.withLockedValue { $0.entries.count } }

    /// Nothing to release: the tables live as long as the store value.
    public func shutdown() async {}
}
