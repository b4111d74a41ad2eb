import Foundation
import Logging
import Micro
import MicroCore
import MicroTestSupport
@testable import MicroRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `git daemon` serving every repository under a directory on 127.0.0.1 (git://127.0.0.1:PORT/NAME).
final class GitDaemon {
    let port: Int
    private let process: SpawnedProcess

    init(serving base: String, log: URL) async throws {
        port = try freePort()
        process = try SpawnedProcess("/usr/bin/git", ["daemon", "--reuseaddr", "--export-all", "--informative-errors", "--base-path=\(base)",
                                                      "--listen=127.0.0.1", "--port=\(port)", base], output: log)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? await ChildProcess.outcome("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"], timeout: .seconds(2)))?.status == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw EngineMissing(description: "git daemon did not listen on 127.0.0.1:\(port)")
    }

    func stop() { process.terminate() }
}

/// Running runtimes in tests.
enum RuntimeHarness {
    /// Options for tests: this process's environment with `MICRO_HOME` = `home`, quick restarts.
    static func options(home: String, crashLimit: Int = 3) -> RuntimeOptions {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MICRO_") }
        environment["MICRO_HOME"] = home
        return RuntimeOptions(home: home, environment: environment,
                              restartPolicy: RestartPolicy(initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200), crashLimit: crashLimit),
                              stopGrace: .seconds(3), healthTimeout: .seconds(30))
    }

    /// The client environment of services run under `home`.
    static func environment(home: String) -> MicroEnvironment {
        MicroEnvironment(["MICRO_HOME": home])
    }

    /// Waits (bounded) until `name`'s record satisfies `condition`; returns it.
    @discardableResult
    static func wait(for name: String, in runtime: ProcessRuntime, timeout: Duration = .seconds(60),
                     _ condition: (RuntimeServiceStatus) -> Bool) async throws -> RuntimeServiceStatus {
        let deadline = ContinuousClock.now + timeout
        var last: RuntimeServiceStatus?
        while ContinuousClock.now < deadline {
            last = try await runtime.list(name).first
            if let last, condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TimedOut(what: "\(name) did not reach the expected state; last: \(String(describing: last))", limit: timeout)
    }

    /// Stops and removes every service `runtime` knows (each stopped by pid).
    static func removeAll(_ runtime: ProcessRuntime) async {
        for service in (try? await runtime.list()) ?? [] { try? await runtime.delete(service.name) }
    }
}

/// A wait that ran past its limit.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "\(what) (after \(limit))" }
}

extension RuntimeHarness {
    /// Runs `body` with the real health check of services run under `home` (their local registry, a
    /// client), closed afterwards.
    static func withHealthCheck<T: Sendable>(home: String, _ body: (RegistryHealthCheck, Client) async throws -> T) async throws -> T {
        let environment = Self.environment(home: home)
        let registry = try Engines.embedded.makeRegistry(EngineContext(environment: environment))
        do {
            let result = try await Micro.withClient(environment: environment) { client in
                try await body(RegistryHealthCheck(registry: registry, client: client), client)
            }
            await registry.shutdown()
            return result
        } catch {
            await registry.shutdown()
            throw error
        }
    }
}
