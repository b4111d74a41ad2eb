import MicroCore
import MicroPostgres
import MicroTestSupport
import SyncConformance
import Testing

/// The sync contract on ``StoreSync`` over PostgreSQL (`MICRO_SYNC=postgres`): a lock is a row of the
/// lock table, taken and renewed in the store's transactions, its token the table's revision sequence.
@Suite struct PostgresSyncTests {
    @Test(arguments: SyncCheck.all) func conformance(_ check: SyncCheck) async throws {
        let server = try await PostgresProcess.shared()
        try await SyncConformance(backend: "postgres") {
            StoreSync(store: try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url)), ownsStore: true)
        }.run(check)
    }

    @Test func serverGoneIsUnavailableNotAHang() async throws {
        let port = try freePort()
        let store = try PostgresStore(url: "postgres://postgres@127.0.0.1:\(port)/postgres", operationTimeout: .seconds(1))
        let sync = StoreSync(store: store, ownsStore: true)
        let error = await #expect(throws: SyncError.self) { _ = try await sync.lock("x", ttl: .seconds(1), wait: .zero) }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        await sync.shutdown()
    }
}
