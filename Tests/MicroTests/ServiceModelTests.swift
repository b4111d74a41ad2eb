import Foundation
import Micro
import Testing

/// `service.model(...)`: models in the service's store, a SQLite table by default.
@Suite struct ServiceModelTests {
    struct Chore: Model, Identifiable, Equatable {
        var id: Int
        var title: String
        var done: Bool
        static let schema = ModelSchema(table: "tasks", key: \Chore.id, indexes: [\.done])
    }

    @Test func aServiceKeepsModelsInItsStore() async throws {
        let directory = NSTemporaryDirectory() + "micro-service-model-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for environment in [MicroEnvironment(["MICRO_HOME": directory]), MicroEnvironment(["MICRO_STORE": "memory"])] {
            let service = try MicroService(name: "tasks", environment: environment)
            let tasks = service.model(Chore.self)
            try await tasks.create(Chore(id: 1, title: "write", done: false))
            try await tasks.create(Chore(id: 2, title: "test", done: true))
            #expect(try await tasks.list(where: [\.done == false]).map(\.value) == [Chore(id: 1, title: "write", done: false)])
            #expect(try await tasks.count() == 2)
            await service.store.shutdown()
        }
        #expect(FileManager.default.fileExists(atPath: directory + "/store/micro.sqlite"), "the default store is SQLite under MICRO_HOME")
    }
}
