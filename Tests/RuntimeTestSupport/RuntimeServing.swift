import Micro
import MicroCore
import MicroRuntime

/// Runtimes run by tests: a ``ProcessRuntime``'s tasks for the length of a body, or the runtime
/// served as the runtime service (`runtime`) and reached over RPC, as the CLI reaches it.
public enum RuntimeServing {
    /// Runs `runtime` while `body` runs; then stops its tasks (its processes keep running).
    @discardableResult
    public static func running<T: Sendable>(_ runtime: ProcessRuntime, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            do {
                let result = try await body()
                group.cancelAll()
                try? await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// Serves `runtime` on `service` (named ``RuntimeHandler/serviceName``) while `body` runs with a
    /// client of the runtime service, once it answers (within 20 s), and the client under it.
    @discardableResult
    public static func serving<T: Sendable>(_ runtime: ProcessRuntime, on service: MicroService, environment: MicroEnvironment,
                                            _ body: (RuntimeClient, Client) async throws -> T) async throws -> T {
        service.register(RuntimeHandler(runtime: runtime))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            group.addTask { try await runtime.run() }
            defer { service.stop(); group.cancelAll() }
            return try await Micro.withClient(environment: environment) { client in
                let runtimeClient = RuntimeClient(client: client)
                let deadline = ContinuousClock.now + .seconds(20)
                while (try? await runtimeClient.list()) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                return try await body(runtimeClient, client)
            }
        }
    }
}
