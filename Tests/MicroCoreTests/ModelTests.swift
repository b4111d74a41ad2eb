import Foundation
import MicroCore
import StoreConformance
import Testing

@Suite struct MemoryModelConformanceTests {
    static let suite = ModelConformance(backend: "memory") { MemoryStore() }

    @Test(arguments: ModelCheck.all) func models(_ check: ModelCheck) async throws {
        try await Self.suite.run(check)
    }
}

/// A model for the key-value backend's own tests.
private struct Account: Model, Identifiable, Equatable {
    var id: String
    var owner: String
    var balance: Int
    static let schema = ModelSchema(table: "accounts", key: \Account.id, indexes: [\.owner, \.balance])
}

/// A store that fails the writes or deletes a test picks, as a crash between two writes would leave
/// things: what was written before stays, nothing after happens.
private final class FaultyStore: Store, @unchecked Sendable {
    enum Operation { case write, delete }
    let base: any Store
    private let lock = NSLock()
    private var failing: (@Sendable (Operation, String) -> Bool)?
    private var reads: [String] = []

    init(_ base: any Store) { self.base = base }

    var name: String { base.name }
    var scope: StoreScope { base.scope }
    var limits: StoreLimits { base.limits }

    /// From now on, fails every operation `rule` picks (nil: none).
    func fail(when rule: (@Sendable (Operation, String) -> Bool)?) {
        lock.withLock { failing = rule }
    }

    /// Every read since the last call: `key` for a read by key, `prefix*` for a prefix read.
    func takeReads() -> [String] {
        lock.withLock { defer { reads = [] }; return reads }
    }

    fileprivate func noteRead(_ what: String) {
        lock.withLock { reads.append(what) }
    }

    private func check(_ operation: Operation, _ key: String) throws {
        if lock.withLock({ failing?(operation, key) ?? false }) {
            throw StoreError(.unavailable, "injected failure: \(operation) of \(key)")
        }
    }

    func scoped(_ scope: StoreScope) -> any Store {
        let scoped = FaultyStore(base.scoped(scope))
        scoped.failing = lock.withLock { failing }
        return SharedFaults(store: scoped, parent: self)
    }

    func read(_ key: String) async throws -> StoreRecord? { try await base.read(key) }
    func read(_ query: StoreQuery) async throws -> [StoreRecord] { try await base.read(query) }
    func list(_ query: StoreQuery) async throws -> [String] { try await base.list(query) }
    func write(_ write: StoreWrite) async throws -> UInt64 {
        try check(.write, write.key)
        return try await base.write(write)
    }
    func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try check(.delete, key)
        return try await base.delete(key, ifRevision: ifRevision)
    }
    func shutdown() async { await base.shutdown() }

    /// A scope of a faulty store that follows its parent's current rule.
    private struct SharedFaults: Store {
        let store: FaultyStore
        let parent: FaultyStore
        var name: String { store.name }
        var scope: StoreScope { store.scope }
        var limits: StoreLimits { store.limits }
        func scoped(_ scope: StoreScope) -> any Store { parent.scoped(scope) }
        func read(_ key: String) async throws -> StoreRecord? {
            parent.noteRead(key)
            return try await store.base.read(key)
        }
        func read(_ query: StoreQuery) async throws -> [StoreRecord] {
            parent.noteRead(query.prefix + "*")
            return try await store.base.read(query)
        }
        func list(_ query: StoreQuery) async throws -> [String] { try await store.base.list(query) }
        func write(_ write: StoreWrite) async throws -> UInt64 {
            try parent.check(.write, write.key)
            return try await store.base.write(write)
        }
        func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
            try parent.check(.delete, key)
            return try await store.base.delete(key, ifRevision: ifRevision)
        }
        func shutdown() async { await store.shutdown() }
    }
}

@Suite struct KeyValueModelTests {
    /// Every query the tests ask, with what it must return.
    private func expectQueries(_ accounts: ModelStore<Account>, owners: [String: String], balances: [String: Int],
                               sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for owner in Set(owners.values).union(["ann", "bob", "cy"]) {
            let expected = owners.filter { $0.value == owner }.keys.sorted()
            #expect(try await accounts.list(where: [\.owner == owner]).map(\.value.id) == expected, "owner == \(owner)", sourceLocation: sourceLocation)
            #expect(try await accounts.count(where: [\.owner == owner]) == expected.count, sourceLocation: sourceLocation)
        }
        for bound in [0, 50, 100, 150, 200] {
            let expected = balances.filter { $0.value >= bound }.keys.sorted()
            #expect(try await accounts.list(where: [\.balance >= bound]).map(\.value.id) == expected, "balance >= \(bound)", sourceLocation: sourceLocation)
            let below = balances.filter { $0.value < bound }.keys.sorted()
            #expect(try await accounts.list(where: [\.balance < bound]).map(\.value.id) == below, "balance < \(bound)", sourceLocation: sourceLocation)
        }
        #expect(try await accounts.list(where: [.prefix(\.owner, "a")]).map(\.value.id) == owners.filter { $0.value.hasPrefix("a") }.keys.sorted(),
                sourceLocation: sourceLocation)
    }

    @Test func aFailureBetweenTheRowAndItsIndexRecordsNeverReturnsAWrongRow() async throws {
        let faulty = FaultyStore(MemoryStore())
        let accounts = faulty.model(Account.self)
        try await accounts.create(Account(id: "a1", owner: "ann", balance: 100))
        try await accounts.create(Account(id: "a2", owner: "bob", balance: 50))
        var owners = ["a1": "ann", "a2": "bob"]
        var balances = ["a1": 100, "a2": 50]
        try await expectQueries(accounts, owners: owners, balances: balances)

        // 1. The row's write fails after the new index records were written (a crash between them).
        faulty.fail { op, key in op == .write && key.hasPrefix("r/") }
        await #expect(throws: StoreError.self) { try await accounts.update(Account(id: "a1", owner: "cy", balance: 150)) }
        await #expect(throws: StoreError.self) { try await accounts.create(Account(id: "a3", owner: "cy", balance: 200)) }
        faulty.fail(when: nil)
        try await expectQueries(accounts, owners: owners, balances: balances)   // the extra index records match nothing
        #expect(try await accounts.read("a3") == nil)

        // 2. The row is written, the old index records cannot be deleted (a crash after the row's write).
        faulty.fail { op, key in op == .delete && key.hasPrefix("i/") }
        try await accounts.update(Account(id: "a1", owner: "cy", balance: 150))
        owners["a1"] = "cy"
        balances["a1"] = 150
        try await accounts.create(Account(id: "a3", owner: "ann", balance: 0))
        owners["a3"] = "ann"
        balances["a3"] = 0
        #expect(try await accounts.delete("a2"))
        owners["a2"] = nil
        balances["a2"] = nil
        faulty.fail(when: nil)
        let ownerRecords = try await faulty.scoped(table: "accounts").list(prefix: "i/owner/")
        #expect(ownerRecords.count > owners.count, "stale index records were left: \(ownerRecords)")
        try await expectQueries(accounts, owners: owners, balances: balances)   // stale records for ann/100 and bob/50 skipped

        // 3. Updates after the faults keep working, and stale records of a value stay harmless when it comes back.
        try await accounts.update(Account(id: "a1", owner: "ann", balance: 100))
        owners["a1"] = "ann"
        balances["a1"] = 100
        try await expectQueries(accounts, owners: owners, balances: balances)
        #expect(try await accounts.list(where: [\.owner == "ann"]).count == 2)   // a1 once, though two index records lead to it
    }

    @Test func indexedQueriesReadOnlyTheRowsTheIndexNames() async throws {
        let faulty = FaultyStore(MemoryStore())
        let accounts = faulty.model(Account.self)
        for i in 0..<100 { try await accounts.create(Account(id: String(format: "a%03d", i), owner: "o\(i % 10)", balance: i)) }
        _ = try await accounts.count(where: [\.owner == "o0"])   // the first indexed query records the indexes as complete (one scan)
        _ = faulty.takeReads()
        #expect(try await accounts.list(where: [\.owner == "o3"]).count == 10)
        var reads = faulty.takeReads()
        #expect(!reads.contains("r/*") && reads.filter { $0.hasPrefix("r/") }.count == 10, "\(reads)")
        #expect(try await accounts.list(where: [\.balance >= 40, \.balance < 45]).map(\.value.id) == ["a040", "a041", "a042", "a043", "a044"])
        reads = faulty.takeReads()
        #expect(!reads.contains("r/*") && reads.filter { $0.hasPrefix("r/") }.count == 5, "\(reads)")
        #expect(try await accounts.count(where: [\.owner != "o3"]) == 90)
        #expect(faulty.takeReads().contains("r/*"), "!= reads every row")
    }

    @Test func anIndexDeclaredLaterIsFilledFromTheRows() async throws {
        struct V1: Model, Identifiable {
            var id: String
            var owner: String
            var balance: Int
            static let schema = ModelSchema(table: "accounts", key: \V1.id, indexes: [\.owner])
        }
        let store = MemoryStore()
        for i in 0..<20 { try await store.model(V1.self).create(V1(id: "k\(i)", owner: "o\(i % 3)", balance: i * 10)) }
        _ = try await store.model(V1.self).list(where: [\.owner == "o1"])   // records the owner index as complete
        let accounts = store.model(Account.self)
        #expect(try await accounts.list(where: [\.balance >= 150]).map(\.value.id) == ["k15", "k16", "k17", "k18", "k19"])
        #expect(try await accounts.count(where: [\.balance < 30]) == 3)
    }

    @Test func indexEncodingsSortAsTheirValues() {
        let ints: [Int64] = [.min, -1_000_000, -2, -1, 0, 1, 2, 255, 256, 1 << 40, .max]
        let encodedInts = ints.map { ModelIndexEncoding.encode(.int($0), as: .int) }
        #expect(encodedInts == encodedInts.sorted { StoreKey.precedes($0, $1) })
        let doubles: [Double] = [-.infinity, -1e300, -2.5, -1, -0.5, -1e-300, 0, 1e-300, 0.5, 1, 2.5, 1e300, .infinity]
        let encodedDoubles = doubles.map { ModelIndexEncoding.encode(.double($0), as: .double) }
        #expect(encodedDoubles == encodedDoubles.sorted { StoreKey.precedes($0, $1) })
        #expect(ModelIndexEncoding.encode(.double(-0.0), as: .double) == ModelIndexEncoding.encode(.double(0), as: .double))
        let strings = ["", "\u{1}", "\u{1}a", "a", "a\u{1}", "a\u{1}b", "a\u{2}", "ab", "b", "é", "日本"]
        let encodedStrings = strings.map { ModelIndexEncoding.encode(.string($0), as: .string) + "tail" }
        #expect(encodedStrings == encodedStrings.sorted { StoreKey.precedes($0, $1) })
        #expect(ModelIndexEncoding.encode(.null, as: .int) < ModelIndexEncoding.encode(.int(.min), as: .int))
    }

    @Test func recordsAndIndexRecordsLiveInTheModelsTable() async throws {
        let store = MemoryStore()
        try await store.model(Account.self).create(Account(id: "x", owner: "ann", balance: 1))
        let keys = try await store.scoped(table: "accounts").list()
        #expect(keys.filter { $0.hasPrefix("r/") }.count == 1)
        #expect(keys.filter { $0.hasPrefix("i/owner/") }.count == 1)
        #expect(keys.filter { $0.hasPrefix("i/balance/") }.count == 1)
    }
}
