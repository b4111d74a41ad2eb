import Foundation
import Micro
import Testing

/// `service.store`: chosen by `MICRO_STORE` (SQLite under `MICRO_HOME` by default), opened on first
/// use, and closed with the service when the service made it.
@Suite(.serialized) struct ServiceStoreTests {
    struct Add: Codable, Sendable { var n: Int }

    /// Descriptors of this process open on files under `directory`.
    static func descriptors(under directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { fd in
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
            return target.flatMap { $0.hasPrefix(directory) ? $0 : nil }
        }
    }

    @Test func theDefaultStoreIsSQLiteUnderMicroHomeAndClosesWithTheService() async throws {
        let directory = NSTemporaryDirectory() + "micro-service-store-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = MicroEnvironment(["MICRO_HOME": directory])
        let service = try MicroService(name: "stored", options: ServiceOptions(drainTimeout: .seconds(2)), environment: environment)
        #expect(service.store.name == "sqlite")
        #expect(!FileManager.default.fileExists(atPath: directory + "/store"), "nothing is opened before the store is used")
        let store = service.store
        service.handle("Counter.Add") { (request: Add, _) in
            Add(n: try await store.update("count", as: Int.self) { ($0 ?? 0) + request.n }.value)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            #expect(await poll(timeout: .seconds(10)) { service.address != nil })
            let replies = try await withClient(environment: environment) { client in
                [try await client.call("stored", "Counter.Add", Add(n: 2), as: Add.self).n,
                 try await client.call("stored", "Counter.Add", Add(n: 3), as: Add.self).n]
            }
            #expect(replies == [2, 5])
            #expect(Self.descriptors(under: directory + "/store").contains { $0.hasSuffix("micro.sqlite") })
            service.stop()
            try await group.waitForAll()
        }
        #expect(Self.descriptors(under: directory + "/store").isEmpty, "the service closed its store's files")
        await #expect { try await store.read("count") } throws: { ($0 as? StoreError)?.code == .unavailable }
        let reopened = SQLiteStore(directory: directory + "/store")
        #expect(try await reopened.read("count", as: Int.self) == 5)
        await reopened.shutdown()
    }

    @Test func memoryByEnvironmentAndAGivenStoreStaysOpen() async throws {
        let memory = try MicroService(name: "mem", environment: MicroEnvironment(["MICRO_STORE": "memory"]))
        #expect(memory.store.name == "memory")
        let directory = NSTemporaryDirectory() + "micro-service-store-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let given = SQLiteStore(directory: directory)
        let service = try MicroService(name: "given", options: ServiceOptions(drainTimeout: .seconds(1)),
                                       environment: MicroEnvironment(["MICRO_HOME": directory]), store: given)
        #expect(service.store as? SQLiteStore === given)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            #expect(await poll(timeout: .seconds(10)) { service.address != nil })
            service.stop()
            try await group.waitForAll()
        }
        try await given.write("still", bytes: [1])
        #expect(try await given.read("still")?.value == [1], "a store passed in is the caller's to close")
        await given.shutdown()
    }
}
