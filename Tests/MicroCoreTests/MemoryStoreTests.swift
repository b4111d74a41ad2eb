import Foundation
import MicroCore
import StoreConformance
import Testing

@Suite struct MemoryStoreConformanceTests {
    static let suite = StoreConformance(backend: "memory") { MemoryStore() }

    @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
        try await Self.suite.run(check)
    }
}

@Suite struct MemoryStoreTests {
    @Test func limitsAreTheStoresOwn() async throws {
        let store = MemoryStore(limits: StoreLimits(maxValueBytes: 4, maxMetadataBytes: 2))
        try await store.write("k", bytes: [1, 2, 3, 4])
        await #expect(throws: StoreError(.tooLarge, "value of 'k' is 5 bytes, the limit is 4")) {
            try await store.write("k", bytes: [1, 2, 3, 4, 5])
        }
        let scoped = try store.scoped(table: "other")
        #expect(scoped.limits == store.limits)
    }

    @Test func scopesOfOneStoreShareTablesAndSeparateStoresDoNot() async throws {
        let store = MemoryStore()
        let a = try store.scoped(table: "a")
        try await a.write("k", bytes: [1])
        #expect(try await store.scoped(table: "a").read("k")?.value == [1])
        #expect(try await MemoryStore().scoped(table: "a").read("k") == nil)
    }

    @Test func expiredRecordsAreSweptFromMemory() async throws {
        let store = MemoryStore()
        for i in 0..<10 { try await store.write("short-\(i)", bytes: [1], ttl: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(60))
        for i in 0..<100 { try await store.write("long-\(i)", bytes: [1]) }
        #expect(try await store.list(prefix: "short-").isEmpty)
        // Sweeping happened: the expired keys are gone from the table itself, not just hidden.
        #expect(try await store.list().count == 100)
        #expect(store.entryCount == 100)
    }
}

@Suite struct StoreTypesTests {
    @Test func prefixUpperBoundIsTheLeastStringPastThePrefix() {
        #expect(StoreKey.upperBound(ofPrefix: "abc") == "abd")
        #expect(StoreKey.upperBound(ofPrefix: "a\u{10FFFF}") == "b")
        #expect(StoreKey.upperBound(ofPrefix: "\u{10FFFF}\u{10FFFF}") == nil)
        #expect(StoreKey.upperBound(ofPrefix: "\u{D7FF}") == "\u{E000}")
        #expect(StoreKey.upperBound(ofPrefix: "日") == "旦")
        #expect(StoreKey.upperBound(ofPrefix: "\u{7F}") == "\u{80}")
        #expect(StoreKey.upperBound(ofPrefix: "") == nil)
    }

    @Test func namesAreValidatedAndLowercased() throws {
        let scope = try StoreScope(database: "My-App_1", table: "Users")
        #expect(scope.database == "my-app_1" && scope.table == "users")
        #expect(scope == (try StoreScope(database: "my-app_1", table: "users")))
        #expect(StoreScope.default.database == "micro" && StoreScope.default.table == "micro")
        #expect(throws: StoreError.self) { try StoreScope(database: "a.b", table: "t") }
    }

    @Test func metadataEncodesSortedAndDecodesOnlyObjectsOfStrings() throws {
        let metadata = ["b": "2", "a": "quote\" slash\\ nl\n ctl\u{1}", "é": "日本"]
        let json = StoreMetadataCoding.encode(metadata)
        #expect(json.hasPrefix(#"{"a":"quote\" slash\\ nl\n ctl\u0001","b":"2","#))
        #expect(try StoreMetadataCoding.decode(Array(json.utf8), key: "k") == metadata)
        #expect(try StoreMetadataCoding.decode(Array("{}".utf8), key: "k") == [:])
        for bad in ["", "[]", #"{"a":1}"#, #"{"a":"x""#, "null", "\u{FF}"] {
            #expect(throws: StoreError.self, "\(bad)") { try StoreMetadataCoding.decode(Array(bad.utf8), key: "k") }
        }
    }

    @Test func ttlExpiryRoundsUpToWholeMilliseconds() {
        let now: Int64 = 1_000_000
        #expect(StoreWrite(key: "k", value: [], ttl: .milliseconds(5)).expiryMilliseconds(now: now) == now + 5)
        #expect(StoreWrite(key: "k", value: [], ttl: .microseconds(1)).expiryMilliseconds(now: now) == now + 1)
        #expect(StoreWrite(key: "k", value: [], ttl: .seconds(Int64.max / 10)).expiryMilliseconds(now: now) == Int64.max)
        #expect(StoreWrite(key: "k", value: []).expiryMilliseconds(now: now) == nil)
    }

    @Test func storeErrorsBecomeMicroErrorsWithTheirStatus() {
        #expect(StoreError(.notFound, "x").microError.code == 404)
        #expect(StoreError(.conflict, "x").microError.code == 409)
        #expect(StoreError(.invalidKey, "x").microError.code == 400)
        #expect(StoreError(.tooLarge, "x").microError.code == 413)
        #expect(StoreError(.unavailable, "x").microError.code == 503)
        #expect(StoreError(.malformed, "x").microError.code == 500)
    }

    @Test func environmentChoosesTheStore() throws {
        let engines = Engines([.inProcess])
        let memory = try engines.makeStore(EngineContext(environment: MicroEnvironment(["MICRO_STORE": "memory"])))
        #expect(memory.name == "memory" && memory.scope == .default)
        #expect(MicroEnvironment(["MICRO_STORE_ADDRESS": "/x"]).storeAddress == "/x")
        #expect(throws: ConfigurationError.self) {
            try engines.makeStore(EngineContext(environment: MicroEnvironment(["MICRO_STORE": "nonesuch"])))
        }
    }
}
