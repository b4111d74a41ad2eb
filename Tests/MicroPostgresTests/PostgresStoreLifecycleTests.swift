import Logging
import MicroCore
import MicroPostgres
import MicroTestSupport
import ServiceLifecycle
import Testing

@Suite struct PostgresStoreLifecycleTests {
    @Test func aServiceGroupRunsTheStoreAndItsShutdownClosesThePool() async throws {
        let server = try await PostgresProcess.shared()
        let name = "lifecycle-test-" + String(UInt32.random(in: 0...UInt32.max))
        let store = try PostgresStore(configuration: try PostgresStoreConfiguration(url: server.url + "?application_name=" + name),
                                  scope: try StoreScope(database: "lifecycle", table: "t"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: store)],
                                                                          logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let revision = try await store.write("k", bytes: [1])
            #expect(try await store.read("k")?.revision == revision)
            let connections = try await server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)'")
            #expect(connections != "0", "the pool holds a connection while the group runs")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await #expect { try await store.read("k") } throws: { ($0 as? StoreError)?.code == .unavailable }
        // The server saw the pool's connections go.
        var open = "?"
        for _ in 0..<50 {
            open = try await server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)'")
            if open == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(open == "0", "no connection left open after the group stopped")
    }
}
