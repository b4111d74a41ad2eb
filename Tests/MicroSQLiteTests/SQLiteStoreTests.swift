import Foundation
import MicroCore
import MicroSQLite
import SQLiteNIO
import Testing

@Suite struct SQLiteStoreTests {
    /// A write cancelled part-way through its transaction rolls it back: the store keeps working.
    /// (sqlite-nio skips the statements of a cancelled task, its ROLLBACK included.)
    @Test func writesCancelledMidTransactionLeaveNoTransactionOpen() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = SQLiteStore(directory: dir.path)
        _ = try await store.write("k", bytes: [0])
        for i in 0..<40 {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = try? await store.write("k", bytes: [UInt8(i)]) }
                // Cancel at a different point of the write each time (0 to ~2 ms in).
                try? await Task.sleep(for: .microseconds(50 * i))
                group.cancelAll()
            }
        }
        let after = try await store.write("k", bytes: [99])
        #expect(try await store.read("k")?.revision == after)
        await store.shutdown()
    }

    /// The file (with its write-ahead log) removed under a running store: the first write after it is
    /// refused with a typed error rather than acknowledged into the removed file; the store then opens
    /// the path afresh, and what it acknowledges from then on is in the file a restart reads.
    @Test func aFileRemovedUnderTheStoreRefusesTheWriteThenStartsAfresh() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = SQLiteStore(directory: dir.path)
        try await store.write("before", bytes: [1])
        let path = try store.path(of: "micro")
        for file in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
        do {
            try await store.write("lost", bytes: [2])
            Issue.record("a write into the removed file was acknowledged")
        } catch let error as StoreError {
            #expect(error.code == .unavailable, "\(error)")
        }
        let revision = try await store.write("after", bytes: [3])
        #expect(try await store.read("after")?.revision == revision)
        #expect(try await store.delete("after") == true)
        try await store.write("kept", bytes: [4])
        await store.shutdown()
        let reopened = SQLiteStore(directory: dir.path)
        #expect(try await reopened.list() == ["kept"], "only what was acknowledged after the removal is in the new file")
        await reopened.shutdown()
    }

    @Test func prefixReadsAreRangesOnThePrimaryKeyIndex() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = SQLiteStore(directory: dir.path)
        for i in 0..<200 { try await store.write("user/\(i)", bytes: [1]) }
        let plan = try await store.queryPlan(StoreQuery(prefix: "user/1", limit: 10, offset: 2)).joined(separator: "; ")
        #expect(plan.contains("SEARCH") && plan.contains("PRIMARY KEY (key>? AND key<?)"), "\(plan)")
        #expect(!plan.contains("SCAN") && !plan.contains("TEMP B-TREE"), "\(plan)")
        let suffixPlan = try await store.queryPlan(StoreQuery(prefix: "user/", suffix: "9")).joined(separator: "; ")
        #expect(suffixPlan.contains("PRIMARY KEY (key>? AND key<?)"), "\(suffixPlan)")
        #expect(try await store.list(prefix: "user/1", limit: 3, offset: 2) == ["user/100", "user/101", "user/102"])
        await store.shutdown()
    }

    @Test func filesAreWALSynchronousFullAndPrivate() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let nested = dir.path + "/a/b"
        let store = SQLiteStore(directory: nested)
        try await store.write("k", bytes: [1])
        let file = try store.path(of: "micro")
        #expect(file == nested + "/micro.sqlite")
        #expect(permissions(dir.path) == 0o700)
        #expect(permissions(nested) == 0o700)
        #expect(permissions(file) == 0o600)
        #expect(permissions(file + "-wal") == 0o600)
        #expect(permissions(file + "-shm") == 0o600)
        let (mode, synchronous) = try await store.pragmas(database: "micro")
        #expect(mode == "wal")
        #expect(synchronous == 2, "synchronous=FULL is 2, got \(synchronous)")
        await store.shutdown()
    }

    @Test func recordsAndRevisionsSurviveReopening() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let first = SQLiteStore(directory: dir.path)
        let revision = try await first.write("k", bytes: [1, 2], metadata: ["m": "v"], ttl: .seconds(600))
        let expiry = try await first.read("k")?.expiry
        await first.shutdown()
        let second = SQLiteStore(directory: dir.path)
        let record = try await second.read("k")
        #expect(record == StoreRecord(key: "k", value: [1, 2], metadata: ["m": "v"], expiry: expiry, revision: revision))
        try await second.delete("k")
        #expect(try await second.write("k", bytes: [3]) > revision, "the revision sequence continues across reopening")
        await second.shutdown()
    }

    @Test func twoStoresOnOneFileLoseNoUpdate() async throws {
        // Two stores with their own connections, as two processes sharing MICRO_HOME would have.
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let a = SQLiteStore(directory: dir.path), b = SQLiteStore(directory: dir.path)
        try await a.write("n", value: 0)
        let successes = try await withThrowingTaskGroup(of: Int.self) { group in
            for store in [a, b, a, b] {
                group.addTask {
                    var done = 0
                    while done < 15 {
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
        #expect(successes == 60)
        #expect(try await b.read("n", as: Int.self) == 60)
        await a.shutdown()
        await b.shutdown()
    }

    @Test func operationsAfterShutdownAreUnavailable() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = SQLiteStore(directory: dir.path)
        try await store.write("k", bytes: [1])
        let other = try store.scoped(table: "other")
        await store.shutdown()
        await store.shutdown()
        for op in [{ _ = try await store.read("k") }, { try await store.write("k", bytes: [2]) }, { _ = try await other.list() }] as [@Sendable () async throws -> Void] {
            await #expect { try await op() } throws: { ($0 as? StoreError)?.code == .unavailable }
        }
    }

    @Test func aDirectoryThatCannotBeMadeIsUnavailableNotACrash() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let blocker = dir.path + "/file"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data([1])))
        let store = SQLiteStore(directory: blocker + "/store")
        await #expect { try await store.write("k", bytes: [1]) } throws: { ($0 as? StoreError)?.code == .unavailable }
        await #expect { try await store.read("k") } throws: { ($0 as? StoreError)?.code == .unavailable }
        // A file that is not a database.
        try FileManager.default.createDirectory(atPath: dir.path + "/junk", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: dir.path + "/junk/micro.sqlite", contents: Data(repeating: 0x5A, count: 8192)))
        let junk = SQLiteStore(directory: dir.path + "/junk")
        await #expect { try await junk.write("k", bytes: [1]) } throws: { error in
            let code = (error as? StoreError)?.code
            return code == .malformed || code == .unavailable
        }
        await store.shutdown()
        await junk.shutdown()
    }

    @Test func malformedRowsAreTypedErrorsNotCrashes() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = SQLiteStore(directory: dir.path)
        for key in ["good", "bad-metadata", "bad-metadata-array", "bad-revision-text", "bad-revision-negative", "bad-value-text",
                    "bad-expiry", "bad-revision-null-like"] {
            try await store.write(key, value: ["n": 1], metadata: ["a": "b"])
        }
        let path = try store.path(of: "micro")
        try await withRawConnection(path) { raw in
            for sql in [
                #"UPDATE "store_micro" SET metadata = 'not json' WHERE key = 'bad-metadata'"#,
                #"UPDATE "store_micro" SET metadata = '["a"]' WHERE key = 'bad-metadata-array'"#,
                #"UPDATE "store_micro" SET revision = 'x' WHERE key = 'bad-revision-text'"#,
                #"UPDATE "store_micro" SET revision = -5 WHERE key = 'bad-revision-negative'"#,
                #"UPDATE "store_micro" SET value = 'text, not a blob' WHERE key = 'bad-value-text'"#,
                #"UPDATE "store_micro" SET expiry = 'soon' WHERE key = 'bad-expiry'"#,
                #"UPDATE "store_micro" SET revision = 0.5 WHERE key = 'bad-revision-null-like'"#,
            ] { _ = try await raw.query(sql) }
        }
        #expect(try await store.read("good", as: [String: Int].self) == ["n": 1])
        for key in ["bad-metadata", "bad-metadata-array", "bad-revision-text", "bad-revision-negative", "bad-value-text",
                    "bad-revision-null-like"] {
            await #expect("\(key)") { try await store.read(key) } throws: { ($0 as? StoreError)?.code == .malformed }
        }
        // An expiry that is not a number: SQLite's comparison puts text above every integer, so the row
        // passes the liveness filter and the decoder refuses it.
        await #expect { try await store.read("bad-expiry") } throws: { ($0 as? StoreError)?.code == .malformed }
        await #expect { try await store.read(prefix: "bad-") } throws: { ($0 as? StoreError)?.code == .malformed }
        // Listing reads only keys, which are intact; deleting a bad row works.
        #expect(try await store.list().count == 8)
        #expect(try await store.delete("bad-metadata"))

        // A corrupt or missing revision sequence: the write fails typed and leaves nothing behind.
        for sql in ["UPDATE micro_store_sequence SET revision = 'x'", "DELETE FROM micro_store_sequence"] {
            try await withRawConnection(path) { raw in _ = try await raw.query(sql) }
            await #expect("\(sql)") { try await store.write("new", bytes: [1]) } throws: { ($0 as? StoreError)?.code == .malformed }
            #expect(try await store.read("new") == nil)
        }
        await store.shutdown()
    }

    @Test func expiredRowsAreDeletedFromTheFile() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = SQLiteStore(directory: dir.path)
        for i in 0..<10 { try await store.write("short-\(i)", bytes: [1], ttl: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(60))
        for i in 0..<256 { try await store.write("long-\(i)", bytes: [1]) }
        let rows = try await withRawConnection(try store.path(of: "micro")) { raw in
            try await raw.query(#"SELECT count(*) AS n FROM "store_micro""#).first?.column("n")?.integer
        }
        #expect(rows == 256, "expired rows swept from the table itself")
        await store.shutdown()
    }

    @Test func theEnvironmentChoosesSQLiteUnderMicroHome() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let engines = Engines([.inProcess, .sqlite])
        let fromHome = try engines.makeStore(EngineContext(environment: MicroEnvironment(["MICRO_STORE": "sqlite", "MICRO_HOME": dir.path])))
        #expect((fromHome as? SQLiteStore)?.directory == dir.path + "/store")
        let fromAddress = try engines.makeStore(EngineContext(environment: MicroEnvironment([
            "MICRO_STORE": "sqlite", "MICRO_HOME": dir.path, "MICRO_STORE_ADDRESS": dir.path + "/elsewhere",
        ])))
        #expect((fromAddress as? SQLiteStore)?.directory == dir.path + "/elsewhere")
        #expect(MicroEnvironment([:]).store == "sqlite", "sqlite is the default store")
        try await fromHome.write("k", bytes: [1])
        #expect(FileManager.default.fileExists(atPath: dir.path + "/store/micro.sqlite"))
        await fromHome.shutdown()
        await fromAddress.shutdown()
    }
}
