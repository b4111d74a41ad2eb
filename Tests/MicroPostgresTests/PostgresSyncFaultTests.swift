import Foundation
import MicroCore
import MicroPostgres
import MicroTestSupport
import SyncConformance
import Testing

/// Locks on PostgreSQL across processes (`SyncContender`), with holders killed or stopped.
@Suite struct PostgresSyncFaultTests {
    @Test func contendersTakeTurnsAndKilledOrStoppedHoldersAreFencedOff() async throws {
        let server = try await PostgresProcess.shared()
        let store = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url))
        let harness = SyncFaultHarness(engine: "postgres", address: server.url, sync: StoreSync(store: store), store: store, ttl: .seconds(1))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sync-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = "pg\(UUID().uuidString.prefix(8))"
        let holds = try await harness.contend(name: name + ".contended", processes: 3, seconds: 4, directory: directory)
        #expect(holds >= 3, "only \(holds) acquisitions in 4 s")
        let freedAfter = try await harness.killedHolderFreesLock(name: name + ".killed", directory: directory)
        print("postgres: a lock whose holder was killed was taken \(freedAfter) later (TTL 1 s)")
        try await harness.stoppedHolderIsFencedOff(name: name + ".stopped", directory: directory)
        await store.shutdown()
    }
}
