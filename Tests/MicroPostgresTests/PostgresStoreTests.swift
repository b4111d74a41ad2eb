import Foundation
import MicroCore
import MicroPostgres
import MicroTestSupport
import Testing

@Suite struct PostgresStoreTests {
    /// A store on the shared server bound to a database of its own.
    static func freshStore(operationTimeout: Duration = .seconds(10)) async throws -> (PostgresStore, PostgresProcess) {
        let server = try await PostgresProcess.shared()
        let store = try PostgresStore(url: server.url, operationTimeout: operationTimeout,
                                      scope: try StoreScope(database: "t" + String(UUID().uuidString.prefix(8)).lowercased(), table: "micro"))
        return (store, server)
    }

    @Test func prefixReadsAreRangesOnThePrimaryKeyIndex() async throws {
        let (store, server) = try await Self.freshStore()
        try await store.write("seed", bytes: [1])
        // Enough rows, with statistics, that the planner's own choice is visible.
        try await server.psql("""
            INSERT INTO \(store.tableName) (key, value, metadata, expiry, revision)
            SELECT 'user/' || g, '\\x01', '{}', NULL, nextval('"store_\(store.scope.database)"."s_micro"') FROM generate_series(1, 5000) g;
            ANALYZE \(store.tableName)
            """)
        let plan = try await store.queryPlan(StoreQuery(prefix: "user/1", limit: 10, offset: 2)).joined(separator: "; ")
        #expect(plan.contains("Index Scan using k_micro") && plan.contains("Index Cond: ((key >= ") && plan.contains("AND (key < "), "\(plan)")
        #expect(!plan.contains("Seq Scan") && !plan.contains("Sort"), "rows come in key order from the index: \(plan)")
        // The range is an index condition whatever the planner prefers for a suffix filter on top.
        let suffixPlan = try await store.queryPlan(StoreQuery(prefix: "user/", suffix: "9"), preferIndex: true).joined(separator: "; ")
        #expect(suffixPlan.contains("k_micro") && suffixPlan.contains("Index Cond: ((key >= "), "\(suffixPlan)")
        #expect(try await store.list(prefix: "user/1", limit: 3, offset: 2) == ["user/100", "user/1000", "user/1001"])
        #expect(try await store.list(prefix: "user/", suffix: "999") == ["user/1999", "user/2999", "user/3999", "user/4999", "user/999"])
        await store.shutdown()
    }

    @Test func schemaAndColumnsAreAsDocumented() async throws {
        let (store, server) = try await Self.freshStore()
        let table = try store.scoped(table: "Orders-2024")
        try await table.write("k", bytes: [1])
        let schema = "store_" + store.scope.database
        let columns = try await server.psql("""
            SELECT column_name || ' ' || data_type || ' ' || coalesce(collation_name, '-') || ' ' || is_nullable FROM information_schema.columns
            WHERE table_schema = '\(schema)' AND table_name = 't_orders-2024' ORDER BY ordinal_position
            """)
        #expect(columns.split(separator: "\n") == ["key text C NO", "value bytea - NO", "metadata text - NO", "expiry bigint - YES",
                                                   "revision bigint - NO"])
        let relations = try await server.psql("""
            SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE nspname = '\(schema)'
            """)
        #expect(relations == "e_orders-2024:i,k_orders-2024:i,s_orders-2024:S,t_orders-2024:r")
        await store.shutdown()
    }

    @Test func recordsAndRevisionsSurviveANewStore() async throws {
        let (first, server) = try await Self.freshStore()
        let revision = try await first.write("k", bytes: [1, 2], metadata: ["m": "v"], ttl: .seconds(600))
        let expiry = try await first.read("k")?.expiry
        await first.shutdown()
        let second = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: first.scope)
        #expect(try await second.read("k") == StoreRecord(key: "k", value: [1, 2], metadata: ["m": "v"], expiry: expiry, revision: revision))
        try await second.delete("k")
        #expect(try await second.write("k", bytes: [3]) > revision, "the revision sequence lives in the database")
        await second.shutdown()
    }

    @Test func twoStoresOnOneTableLoseNoUpdate() async throws {
        // Two stores with pools of their own, as two processes would have.
        let (a, server) = try await Self.freshStore()
        let b = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: a.scope)
        try await a.write("n", value: 0)
        let successes = try await withThrowingTaskGroup(of: Int.self) { group in
            for store in [a, b, a, b] {
                group.addTask {
                    var done = 0
                    while done < 25 {
                        guard let entry = try await store.entry("n", as: Int.self) else { throw StoreError(.notFound, "n") }
                        do {
                            try await store.write("n", value: entry.value + 1, condition: .ifRevision(entry.revision))
                            done += 1
                        } catch let error as StoreError where error.code == .conflict {}
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(successes == 100)
        #expect(try await b.read("n", as: Int.self) == 100)
        await a.shutdown()
        await b.shutdown()
    }

    @Test func concurrentUnconditionalWritesOfOneKeyRaiseItsRevision() async throws {
        let (store, _) = try await Self.freshStore()
        let revisions = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<8 {
                group.addTask { var r: [UInt64] = []; for i in 0..<20 { r.append(try await store.write("hot", bytes: [UInt8(i)])) }; return r }
            }
            return try await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        #expect(Set(revisions).count == 160, "no revision given twice")
        #expect(try await store.read("hot")?.revision == revisions.max(), "the last write of the key has the highest revision")
        await store.shutdown()
    }

    @Test func operationsAfterShutdownAreUnavailable() async throws {
        let (store, _) = try await Self.freshStore()
        try await store.write("k", bytes: [1])
        let other = try store.scoped(table: "other")
        await store.shutdown()
        await store.shutdown()
        for op in [{ _ = try await store.read("k") }, { try await store.write("k", bytes: [2]) }, { _ = try await other.list() }] as [@Sendable () async throws -> Void] {
            await #expect { try await op() } throws: { ($0 as? StoreError)?.code == .unavailable }
        }
    }

    @Test func noServerIsUnavailableWithinTheTimeout() async throws {
        let port = try freePort()
        let store = try PostgresStore(url: "postgres://postgres@127.0.0.1:\(port)/postgres", operationTimeout: .seconds(1))
        let ops: [@Sendable () async throws -> Void] = [{ try await store.write("k", bytes: [1]) }, { _ = try await store.read("k") }]
        for op in ops {
            let started = ContinuousClock.now
            await #expect { try await op() } throws: { ($0 as? StoreError)?.code == .unavailable }
            // The bound, plus slack for a loaded machine: the point is that it does not hang.
            #expect(ContinuousClock.now - started < .seconds(4), "bounded by the 1 s operation timeout")
        }
        await store.shutdown()
    }

    @Test func malformedRowsAreTypedErrorsNotCrashes() async throws {
        let (store, server) = try await Self.freshStore()
        let keys = ["good", "bad-metadata", "bad-metadata-array", "bad-metadata-numbers", "bad-revision-negative", "bad-revision-zero"]
        for key in keys { try await store.write(key, value: ["n": 1], metadata: ["a": "b"]) }
        let table = store.tableName
        try await server.psql("""
            UPDATE \(table) SET metadata = 'not json' WHERE key = 'bad-metadata';
            UPDATE \(table) SET metadata = '["a"]' WHERE key = 'bad-metadata-array';
            UPDATE \(table) SET metadata = '{"a": 1}' WHERE key = 'bad-metadata-numbers';
            UPDATE \(table) SET revision = -5 WHERE key = 'bad-revision-negative';
            UPDATE \(table) SET revision = 0 WHERE key = 'bad-revision-zero'
            """)
        #expect(try await store.read("good", as: [String: Int].self) == ["n": 1])
        for key in keys.dropFirst() {
            await #expect("\(key)") { try await store.read(key) } throws: { ($0 as? StoreError)?.code == .malformed }
        }
        await #expect { try await store.read(prefix: "bad-") } throws: { ($0 as? StoreError)?.code == .malformed }
        // Listing reads only keys, which are intact; deleting a bad row works.
        #expect(try await store.list().count == keys.count)
        #expect(try await store.delete("bad-metadata"))

        // Columns altered under the store: every read of the table is malformed, nothing crashes.
        let alterations = [
            "ALTER TABLE %T ALTER COLUMN value TYPE text USING encode(value, 'hex')",
            "ALTER TABLE %T ALTER COLUMN revision TYPE numeric",
            "ALTER TABLE %T ALTER COLUMN value DROP NOT NULL; UPDATE %T SET value = NULL",
            "ALTER TABLE %T ALTER COLUMN metadata TYPE jsonb USING '{}'::jsonb",
            "ALTER TABLE %T ALTER COLUMN expiry TYPE text",
            "ALTER TABLE %T DROP COLUMN metadata",
        ]
        for (i, alteration) in alterations.enumerated() {
            let altered = try store.scoped(table: "altered\(i)")
            try await altered.write("k", bytes: [1], metadata: ["a": "b"])
            let name = try #require(altered as? PostgresStore).tableName
            try await server.psql(alteration.replacingOccurrences(of: "%T", with: name))
            await #expect("\(alteration)") { try await altered.read("k") } throws: { ($0 as? StoreError)?.code == .malformed }
            await #expect("\(alteration)") { try await altered.read(prefix: "") } throws: { ($0 as? StoreError)?.code == .malformed }
        }

        // A sequence dropped under the store: writes fail typed, never reusing revisions from 1 again.
        try await server.psql(#"DROP SEQUENCE "store_\#(store.scope.database)"."s_micro""#)
        await #expect { try await store.write("new", bytes: [1]) } throws: { ($0 as? StoreError)?.code == .malformed }
        let fresh = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url), scope: store.scope)
        await #expect { try await fresh.write("new", bytes: [1]) } throws: { ($0 as? StoreError)?.code == .malformed }
        await #expect { try await store.read("new") } throws: { ($0 as? StoreError)?.code == .malformed }
        #expect(try await server.psql("SELECT count(*) FROM \(store.tableName) WHERE key = 'new'") == "0", "nothing written")
        await fresh.shutdown()
        await store.shutdown()
    }

    @Test func expiredRowsAreDeletedFromTheTable() async throws {
        let (store, server) = try await Self.freshStore()
        for i in 0..<10 { try await store.write("short-\(i)", bytes: [1], ttl: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(60))
        for i in 0..<256 { try await store.write("long-\(i)", bytes: [1]) }
        #expect(try await server.psql("SELECT count(*) FROM \(store.tableName)") == "256", "expired rows swept from the table itself")
        await store.shutdown()
    }

    @Test func theEnvironmentChoosesPostgresByURL() async throws {
        let server = try await PostgresProcess.shared()
        let engines = Engines([.inProcess, .postgres])
        let store = try engines.makeStore(EngineContext(environment: MicroEnvironment(["MICRO_STORE": "postgres", "MICRO_STORE_ADDRESS": server.url])))
        let postgres = try #require(store as? PostgresStore)
        #expect(postgres.configuration.port == server.port)
        #expect(postgres.scope == .default)
        let scoped = try store.scoped(database: "env" + String(UUID().uuidString.prefix(6)).lowercased(), table: "t")
        try await scoped.write("k", bytes: [1])
        #expect(try await scoped.read("k")?.value == [1])
        await store.shutdown()
        #expect(throws: ConfigurationError.self) {
            try engines.makeStore(EngineContext(environment: MicroEnvironment(["MICRO_STORE": "postgres", "MICRO_STORE_ADDRESS": "127.0.0.1:5432"])))
        }
    }

    @Test func urlsAreParsedOnceAndStrictly() throws {
        let full = try PostgresStoreConfiguration(url: "postgresql://app%40x:p%3Ass%2Fw@db.local:6543/orders?sslmode=disable&schema_prefix=kv_&application_name=billing")
        #expect(full.username == "app@x" && full.password == "p:ss/w")
        #expect(full.host == "db.local" && full.port == 6543 && full.database == "orders" && full.schemaPrefix == "kv_")
        #expect(full.applicationName == "billing")
        #expect(full.displayURL == "postgres://app@x@db.local:6543/orders", "no password in messages")
        let bare = try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1")
        #expect(bare.port == 5432 && bare.database == "u" && bare.password == nil)
        let v6 = try PostgresStoreConfiguration(url: "postgres://u@[::1]:5433/d")
        #expect(v6.host == "::1" && v6.port == 5433)
        for bad in ["127.0.0.1:5432", "mysql://u@h/d", "postgres://u@h/d/e", "postgres://u@h/d?sslmode=maybe",
                    "postgres://u@h/d?other=1", "postgres://u@h/d?schema_prefix=Bad-Prefix", "postgres://u:secret@h:99999/d"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try PostgresStoreConfiguration(url: bad) }
        }
        for prefix in ["x\"; DROP SCHEMA public; --", "UPPER", "a-b", String(repeating: "p", count: 16)] {
            #expect(throws: ConfigurationError.self, "\(prefix)") { try PostgresStore(configuration: PostgresStoreConfiguration(schemaPrefix: prefix)) }
        }
        #expect(throws: ConfigurationError.self) { try PostgresStore(configuration: PostgresStoreConfiguration(operationTimeout: .zero)) }
        do {
            _ = try PostgresStoreConfiguration(url: "mysql://u:secret@h/d")
        } catch {
            #expect(!"\(error)".contains("secret"), "a password never shows in an error: \(error)")
        }
    }
}
