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
}
