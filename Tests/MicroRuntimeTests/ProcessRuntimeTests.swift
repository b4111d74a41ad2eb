import Foundation
import Logging
import Micro
import MicroCore
import MicroTestSupport
import RuntimeTestSupport
import Testing
@testable import MicroRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The process runtime with real git, real builds and real processes. Serialized: builds and
/// processes share two cores.
@Suite(.serialized) struct ProcessRuntimeTests {
    /// A runtime over an in-memory record store, checking health in the local registry under `home`.
    static func withRuntime<T: Sendable>(home: String, crashLimit: Int = 3, _ body: (ProcessRuntime) async throws -> T) async throws -> T {
        try await RuntimeHarness.withHealthCheck(home: home) { health, _ in
            let runtime = ProcessRuntime(options: RuntimeHarness.options(home: home, crashLimit: crashLimit), store: MemoryStore(),
                                         health: health)
            return try await RuntimeServing.running(runtime) {
                do {
                    let result = try await body(runtime)
                    await RuntimeHarness.removeAll(runtime)
                    return result
                } catch {
                    await RuntimeHarness.removeAll(runtime)
                    throw error
                }
            }
        }
    }

    @Test func aCrashLoopEndsFailedWithItsExitInTheError() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let script = try scratch.script("crash", "echo crashing; exit 3")
        try await Self.withRuntime(home: scratch.path + "/home") { runtime in
            #expect(try await runtime.create(RuntimeSource(parsing: script)) == ["crash"])
            let failed = try await RuntimeHarness.wait(for: "crash", in: runtime) { $0.state.status == .failed }
            #expect(failed.state.restarts == 3)
            #expect(failed.state.error?.contains("crashLoop") == true)
            #expect(failed.state.error?.contains("exited with status 3 4 times in a row") == true)
            let log = try String(contentsOfFile: try await runtime.logPath("crash"), encoding: .utf8)
            #expect(log.components(separatedBy: "crashing").count - 1 == 4)
        }
    }

    @Test func badURLsMissingRefsAndCloneFailuresAreTypedErrors() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try Git.repository(scratch, "repo", files: TinyPackage.files())
        try await Self.withRuntime(home: scratch.path + "/home") { runtime in
            await #expect { try await runtime.create(RuntimeSource(parsing: "file://\(scratch.path)/absent")) } throws: {
                guard let error = $0 as? RuntimeError else { return false }
                // git's own message is kept.
                return error.code == .fetchFailed && error.detail.contains("absent") && error.detail.contains("git")
            }
            await #expect { try await runtime.create(RuntimeSource(parsing: "file://\(scratch.path)/repo@no-such-branch")) } throws: {
                ($0 as? RuntimeError)?.code == .missingRef && "\($0)".contains("no-such-branch")
            }
            let remaining = try await runtime.list()
            #expect(remaining.isEmpty)
        }
    }

    @Test func aManifestCycleIsRefusedWithTheCycleNamed() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try Git.repository(scratch, "a", files: ["micro.yaml": "name: alpha\ndepends:\n  - source: file://\(scratch.path)/b\n"])
        try Git.repository(scratch, "b", files: ["micro.yaml": "name: beta\ndepends:\n  - source: file://\(scratch.path)/c\n"])
        try Git.repository(scratch, "c", files: ["micro.yaml": "name: gamma\ndepends:\n  - source: file://\(scratch.path)/a@main\n"])
        try await Self.withRuntime(home: scratch.path + "/home") { runtime in
            // a@main and a are different sources but the same name: the cycle closes on alpha... through a second alpha.
            await #expect { try await runtime.create(RuntimeSource(parsing: "file://\(scratch.path)/a")) } throws: {
                ($0 as? RuntimeError)?.code == .badManifest && "\($0)".contains("two services are named alpha")
            }
            try Git.run(["checkout", "-q", "-b", "other"], in: scratch.url.appendingPathComponent("c"))
            try scratch.write(["micro.yaml": "name: gamma\ndepends:\n  - source: file://\(scratch.path)/a\n"], in: "c")
            try Git.commit(scratch.url.appendingPathComponent("c"), message: "loop")
            try Git.run(["branch", "-q", "-f", "main", "other"], in: scratch.url.appendingPathComponent("c"))
            await #expect { try await runtime.create(RuntimeSource(parsing: "file://\(scratch.path)/a")) } throws: {
                ($0 as? RuntimeError)?.code == .cycle && "\($0)".contains("alpha -> beta -> gamma -> alpha")
            }
            #expect(try await runtime.list().isEmpty)
        }
    }

    @Test func aPackageWithoutAnExecutableFailsWithMissingProduct() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try Git.repository(scratch, "lib", files: TinyPackage.library)
        try await Self.withRuntime(home: scratch.path + "/home") { runtime in
            try await runtime.create(RuntimeSource(parsing: "file://\(scratch.path)/lib"))
            let failed = try await RuntimeHarness.wait(for: "lib", in: runtime, timeout: .seconds(120)) { $0.state.status == .failed }
            #expect(failed.state.error?.contains("missingProduct") == true)
            #expect(failed.state.error?.contains("no executable product") == true)
        }
    }

    /// One real build: a tiny package served by `git daemon`, built in release mode, run, its output in its log; then removed.
    @Test func aGitSourceServedByGitDaemonIsBuiltAndRun() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let commit = try Git.repository(scratch, "repos/tiny", files: TinyPackage.files())
        let daemon = try await GitDaemon(serving: scratch.path + "/repos", log: scratch.url.appendingPathComponent("daemon.log"))
        defer { daemon.stop() }
        try await Self.withRuntime(home: scratch.path + "/home") { runtime in
            #expect(try await runtime.create(RuntimeSource(parsing: "git://127.0.0.1:\(daemon.port)/tiny@main")) == ["tiny"])
            let running = try await RuntimeHarness.wait(for: "tiny", in: runtime, timeout: .seconds(600)) {
                $0.state.status == .running || $0.state.status == .failed
            }
            #expect(running.state.status == .running, "\(running.state.error ?? "")")
            #expect(running.product == "tiny")
            #expect(running.commit == commit)
            #expect(running.version == String(commit.prefix(12)))
            let pid = try #require(running.state.pid)
            #expect(ProcessIdentity.startTime(of: pid) == running.state.pidStartTime)
            let log = try await runtime.logPath("tiny")
            let deadline = ContinuousClock.now + .seconds(10)
            while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("tiny says hello"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try String(contentsOfFile: log, encoding: .utf8).contains("tiny says hello"))
            try await runtime.delete("tiny")
            #expect(ProcessIdentity.startTime(of: pid) == nil)
            await #expect { try await runtime.list("tiny") } throws: { ($0 as? RuntimeError)?.code == .notFound }
        }
    }

    /// Dependencies from manifests (plain directories here), started first and healthy before their
    /// dependents: app needs b and c, which both need d. Each is `micro store serve --name X`, a real
    /// service that registers and answers Debug.Health.
    @Test func dependenciesStartFirstAndAreHealthyBeforeTheirDependents() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let micro = try builtExecutable("micro")
        func manifest(_ name: String, _ depends: [String]) -> [String: String] {
            ["micro.yaml": """
            name: \(name)
            binary: \(micro)
            args: [store, serve, --name, \(name)]
            depends: [\(depends.map { "{source: ../\($0)}" }.joined(separator: ", "))]
            """]
        }
        try scratch.write(manifest("d", []), in: "d")
        try scratch.write(manifest("b", ["d"]), in: "b")
        try scratch.write(manifest("c", ["d"]), in: "c")
        try scratch.write(manifest("app", ["b", "c"]), in: "app")
        try await Self.withRuntime(home: scratch.path + "/home") { runtime in
            let names = try await runtime.create(RuntimeSource(parsing: scratch.path + "/app"))
            #expect(names.first == "d")
            #expect(names.last == "app")
            #expect(Set(names) == ["app", "b", "c", "d"])
            try await RuntimeHarness.wait(for: "app", in: runtime) { $0.state.status == .running }
            let all = Dictionary(uniqueKeysWithValues: try await runtime.list().map { ($0.name, $0) })
            let d = try #require(all["d"]), b = try #require(all["b"]), c = try #require(all["c"]), app = try #require(all["app"])
            let dHealthy = try #require(d.state.healthyAt)
            #expect(dHealthy <= (try #require(b.state.startedAt)))
            #expect(dHealthy <= (try #require(c.state.startedAt)))
            #expect((try #require(b.state.healthyAt)) <= (try #require(app.state.startedAt)))
            #expect((try #require(c.state.healthyAt)) <= (try #require(app.state.startedAt)))
            #expect(app.dependencies == ["b", "c"])
            // The manifest's source and version are shown; nothing crashed.
            #expect(all.values.allSatisfy { $0.state.restarts == 0 && $0.state.status == .running })
        }
    }

    /// A runtime that stops leaves its processes running; the next one (same SQLite store) adopts the
    /// live ones by pid and start time, supervises them (a crash is restarted), and restarts one that is gone.
    @Test func aRestartedRuntimeAdoptsLiveProcessesAndRestartsGoneOnes() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let home = scratch.path + "/home"
        let sleeper = try scratch.script("sleeper", "echo sleeping; exec sleep 600")
        let environment = RuntimeHarness.environment(home: home)
        let store = try Engines.embedded.makeStore(EngineContext(environment: environment))
        do {
            try await RuntimeHarness.withHealthCheck(home: home) { health, _ in
                let first = ProcessRuntime(options: RuntimeHarness.options(home: home), store: store, health: health)
                let started = try await RuntimeServing.running(first) {
                    try await first.create(RuntimeSource(parsing: sleeper))
                    return try await RuntimeHarness.wait(for: "sleeper", in: first) { $0.state.status == .running }
                }
                let pid = try #require(started.state.pid)
                #expect(ProcessIdentity.startTime(of: pid) == started.state.pidStartTime, "the process outlives its runtime")

                let second = ProcessRuntime(options: RuntimeHarness.options(home: home), store: store, health: health)
                try await RuntimeServing.running(second) {
                    let adopted = try await RuntimeHarness.wait(for: "sleeper", in: second) { $0.state.status == .running }
                    #expect(adopted.state.pid == pid)
                    #expect(adopted.state.restarts == 0)
                    // Supervised: a crash of the adopted process is restarted.
                    kill(pid, SIGKILL)
                    let restarted = try await RuntimeHarness.wait(for: "sleeper", in: second) { $0.state.pid != nil && $0.state.pid != pid }
                    #expect(restarted.state.restarts == 1)
                }

                // Stopped again, and its process killed meanwhile: the third runtime starts it anew.
                let stored = try await store.scoped(ProcessRuntime.storeScope).read("service/sleeper", as: RuntimeServiceStatus.self)
                let currentPid = try #require(stored?.state.pid)
                kill(currentPid, SIGKILL)
                while ProcessLauncher.reap(currentPid) == nil { try await Task.sleep(for: .milliseconds(10)) }
                let third = ProcessRuntime(options: RuntimeHarness.options(home: home), store: store, health: health)
                try await RuntimeServing.running(third) {
                    let again = try await RuntimeHarness.wait(for: "sleeper", in: third) { $0.state.status == .running && $0.state.pid != currentPid }
                    #expect(again.state.pid != nil)
                    let log = try String(contentsOfFile: try await third.logPath("sleeper"), encoding: .utf8)
                    #expect(log.contains("adopted pid \(pid)"))
                    #expect(log.contains("restarting after a runtime restart"))
                    await RuntimeHarness.removeAll(third)
                }
            }
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
    }
}
