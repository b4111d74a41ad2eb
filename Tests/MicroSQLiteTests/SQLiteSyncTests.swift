import Foundation
import MicroCore
import MicroSQLite
import SyncConformance
import Testing

/// The sync contract on ``StoreSync`` over a SQLite store (the embedded default, `MICRO_SYNC=sqlite`).
@Suite struct SQLiteSyncTests {
    @Test(arguments: SyncCheck.all) func conformance(_ check: SyncCheck) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await SyncConformance(backend: "sqlite") {
            StoreSync(store: SQLiteStore(directory: directory.path), ownsStore: true)
        }.run(check)
    }

    @Test func twoStoresOnOneFileShareTheLocks() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let a = StoreSync(store: SQLiteStore(directory: directory.path), ownsStore: true)
        let b = StoreSync(store: SQLiteStore(directory: directory.path), ownsStore: true)
        let lease = try await a.lock("shared", ttl: .seconds(5))
        await #expect(throws: SyncError.self) { try await b.lock("shared", ttl: .seconds(5), wait: .zero) }
        try await lease.release()
        let next = try await b.lock("shared", ttl: .seconds(5), wait: .zero)
        #expect(next.token > lease.token)
        try await next.release()
        await a.shutdown()
        await b.shutdown()
    }

    @Test func theEnvironmentChoosesLocksInSQLiteByDefault() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        #expect(MicroEnvironment([:]).sync == "sqlite", "sqlite is the default sync")
        let engines = Engines([.inProcess, .sqlite])
        let sync = try engines.makeSync(EngineContext(environment: MicroEnvironment(["MICRO_HOME": dir.path])))
        #expect(sync.name == "sqlite")
        let lease = try await sync.lock("job", ttl: .seconds(5))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/store/micro_sync.sqlite"), "locks live in micro_sync under the store directory")
        try await lease.release()
        await sync.shutdown()
        let elsewhere = try engines.makeSync(EngineContext(environment: MicroEnvironment([
            "MICRO_HOME": dir.path, "MICRO_SYNC": "sqlite", "MICRO_SYNC_ADDRESS": dir.path + "/locks",
        ])))
        try await elsewhere.lock("job", ttl: .seconds(5)).release()
        #expect(FileManager.default.fileExists(atPath: dir.path + "/locks/micro_sync.sqlite"), "MICRO_SYNC_ADDRESS is the directory")
        await elsewhere.shutdown()
    }
}
