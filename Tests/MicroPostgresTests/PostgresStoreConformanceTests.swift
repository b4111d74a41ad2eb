import MicroCore
import MicroPostgres
import MicroTestSupport
import StoreConformance
import Testing

@Suite struct PostgresStoreConformanceTests {
    /// Every check on one server (each check has a database, so a schema, of its own).
    static let suite = StoreConformance(backend: "postgres") {
        let server = try await PostgresProcess.shared()
        return try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url))
    }

    @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
        try await Self.suite.run(check)
    }
}
