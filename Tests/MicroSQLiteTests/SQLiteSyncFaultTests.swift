import Foundation
import MicroCore
import MicroSQLite
import MicroTestSupport
import SyncConformance
import Testing

/// Locks on one SQLite file across processes (`SyncContender`), with holders killed or stopped.
@Suite struct SQLiteSyncFaultTests {
    @Test func contendersTakeTurnsAndKilledOrStoppedHoldersAreFencedOff() async throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        defer { directory.remove() }
        let store = SQLiteStore(directory: directory.path)
        let harness = SyncFaultHarness(engine: "sqlite", address: directory.path, sync: StoreSync(store: store), store: store, ttl: .seconds(1))
        let scratch = URL(fileURLWithPath: directory.path)
        let holds = try await harness.contend(name: "contended", processes: 3, seconds: 4, directory: scratch)
        #expect(holds >= 3, "only \(holds) acquisitions in 4 s")
        let freedAfter = try await harness.killedHolderFreesLock(name: "killed", directory: scratch)
        print("sqlite: a lock whose holder was killed was taken \(freedAfter) later (TTL 1 s)")
        try await harness.stoppedHolderIsFencedOff(name: "stopped", directory: scratch)
        await store.shutdown()
    }
}
