import Foundation
import Micro
import MicroCore
import MicroTestSupport
import RuntimeTestSupport
import Testing
@testable import MicroRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The container runtime with the real podman, buildah and runc: a tiny package built static once,
/// put in an image from scratch, run with `--network host`, registered and answering; adopted by a
/// restarted runtime (same `podman run`, same container id); a crash (`podman kill`) restarted;
/// updated (a new image and container, the old ones removed); stopped and removed. Fails on CI when podman is missing (scripts/test installs it).
@Suite(.serialized) struct ContainerRuntimeTests {
    /// Whether podman, buildah and runc are here; on CI their absence is an error.
    static func containerToolsPresent() throws -> Bool {
        let missing = ["podman", "buildah", "runc"].filter { tool in
            !["/usr/bin", "/usr/sbin", "/usr/local/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
        if missing.isEmpty { return true }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            throw EngineMissing(description: "\(missing.joined(separator: ", ")) required on CI (scripts/test installs podman buildah runc)")
        }
        print("skipping the container runtime test: \(missing.joined(separator: ", ")) not installed (apt-get install podman buildah runc)")
        return false
    }

    /// podman on the runtime's own storage under `home`, as the runtime runs it.
    static func podman(_ home: String, _ arguments: [String]) async throws -> ChildProcess.Outcome {
        let containers = ContainerRuntime(storage: home + "/runtime/containers", environment: ProcessInfo.processInfo.environment)
        return try await ChildProcess.outcome("/usr/bin/podman", containers.podmanArguments + arguments, timeout: .seconds(60))
    }

    @Test func aStaticBuildRunsInAContainerIsAdoptedAndRestartedAfterACrash() async throws {
        guard try Self.containerToolsPresent() else { return }
        let scratch = try Scratch()
        let home = scratch.path + "/home"
        defer {
            // podman's transient state lives outside the scratch directory (its path must be short).
            try? FileManager.default.removeItem(atPath: ContainerRuntime(storage: home + "/runtime/containers", environment: [:]).runRoot)
            scratch.remove()
        }
        try Git.repository(scratch, "tinybox", files: TinyService.files(name: "tinybox", manifest: """
            name: tinybox
            runtime: container
            env: {TINY_GREETING: ahoy}
            """))
        let store = try Engines.embedded.makeStore(EngineContext(environment: RuntimeHarness.environment(home: home)))
        do {
            try await Self.runAdoptAndCrash(scratch: scratch, home: home, store: store)
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
    }

    static func runAdoptAndCrash(scratch: Scratch, home: String, store: any Store) async throws {
        try await RuntimeHarness.withHealthCheck(home: home) { health, client in
            let first = ProcessRuntime(options: RuntimeHarness.options(home: home), store: store, health: health)
            let started = try await RuntimeServing.running(first) {
                #expect(try await first.create(RuntimeSource(parsing: "file://\(scratch.path)/tinybox")) == ["tinybox"])
                let running = try await RuntimeHarness.wait(for: "tinybox", in: first, timeout: .seconds(600)) {
                    $0.state.status == .failed || ($0.state.status == .running && $0.state.container != nil)
                }
                let log = (try? String(contentsOfFile: first.logFile("tinybox").path, encoding: .utf8)) ?? ""
                try #require(running.state.status == .running, "\(running.state.error ?? ""): \(log.suffix(3000))")
                #expect(running.runtime == "container")
                #expect(running.image == "localhost/micro-tinybox:1")
                // Registered by the process in the container (the home is mounted) and answering over the host's network.
                try await Self.waitHealthy(health, count: 1, log: first.logFile("tinybox").path)
                let reply = try await client.call("tinybox", "Tiny.Hello", [String: String](), as: [String: String].self)
                #expect(reply["message"]?.hasPrefix("ahoy from tinybox-") == true, "the manifest's env reaches the container")
                return running
            }
            let container = try #require(started.state.container)
            let inspect = try await Self.podman(home, ["inspect", "--format", "{{.State.Status}} {{.Config.Image}}", container])
            #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "running localhost/micro-tinybox:1",
                    "the container outlives its runtime: \(inspect.stderr)")

            let second = ProcessRuntime(options: RuntimeHarness.options(home: home), store: store, health: health)
            try await RuntimeServing.running(second) {
                let adopted = try await RuntimeHarness.wait(for: "tinybox", in: second) { $0.state.status == .running }
                #expect(adopted.state.pid == started.state.pid)
                #expect(adopted.state.container == container)
                // A crash: the container is killed; the supervisor starts a new one after its backoff.
                let kill = try await Self.podman(home, ["kill", container])
                #expect(kill.status == 0, "\(kill.stderr)")
                let restarted = try await RuntimeHarness.wait(for: "tinybox", in: second) {
                    $0.state.status == .running && $0.state.container != nil && $0.state.container != container
                }
                #expect(restarted.state.restarts == 1)
                #expect(restarted.state.lastExit == "exited with status 137")
                try await Self.waitHealthy(health, count: 1, log: second.logFile("tinybox").path)

                // An update: a new image and container, healthy before the old one is stopped and its image removed.
                try await second.update("tinybox")
                let updated = try #require(try await second.list("tinybox").first)
                #expect(updated.generation == 2 && updated.image == "localhost/micro-tinybox:2")
                let running = try await Self.podman(home, ["ps", "--format", "{{.Names}} {{.Image}}"])
                #expect(running.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "micro-tinybox-2 localhost/micro-tinybox:2")
                let oldImage = try await Self.podman(home, ["images", "--quiet", "localhost/micro-tinybox:1"])
                #expect(oldImage.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "the old image is removed")
                try await Self.waitHealthy(health, count: 1, log: second.logFile("tinybox").path)

                try await second.delete("tinybox")
                let left = try await Self.podman(home, ["ps", "--all", "--quiet"])
                #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no container is left")
                let images = try await Self.podman(home, ["images", "--quiet", "localhost/micro-tinybox"])
                #expect(images.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "its image is removed")
                let log = try String(contentsOfFile: second.logFile("tinybox").path, encoding: .utf8)
                #expect(log.contains("--static-swift-stdlib"))
                #expect(log.components(separatedBy: "tiny says hello").count - 1 == 3, "every container's output is in the log")
            }
        }
    }

    /// Waits (bounded) until `count` nodes of tinybox are registered and answer `Debug.Health`.
    static func waitHealthy(_ health: RegistryHealthCheck, count: Int, log: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while await health.healthyNodes(of: "tinybox").count != count {
            guard ContinuousClock.now < deadline else {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw TimedOut(what: "tinybox is not healthy; its log: \(text.suffix(2000))", limit: .seconds(30))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test func lddOutputGivesTheLibrariesToCopy() throws {
        let output = """
        \tlinux-vdso.so.1 (0x00007ffd6a5f2000)
        \tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f1c2b2a1000)
        \tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f1c2b000000)
        \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1c2ae1f000)
        \t/lib64/ld-linux-x86-64.so.2 (0x00007f1c2b3a0000)
        """
        #expect(try ImagePackager.libraries(fromLdd: output, succeeded: true) == [
            "/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib64/ld-linux-x86-64.so.2",
        ])
        #expect(try ImagePackager.libraries(fromLdd: "\tnot a dynamic executable\n", succeeded: false).isEmpty)
        // Malformed or hostile output is an error, never a copy of something else.
        #expect(throws: RuntimeError.self) { try ImagePackager.libraries(fromLdd: "\tlibfoo.so.1 => not found\n", succeeded: true) }
        #expect(throws: RuntimeError.self) { try ImagePackager.libraries(fromLdd: "\tx => /lib/../etc/shadow (0x1)\n", succeeded: true) }
        #expect(throws: RuntimeError.self) { try ImagePackager.libraries(fromLdd: "garbage", succeeded: false) }
        let many = (0...ImagePackager.maxLibraries).map { "\tl\($0) => /lib/l\($0).so (0x1)" }.joined(separator: "\n")
        #expect(throws: RuntimeError.self) { try ImagePackager.libraries(fromLdd: many, succeeded: true) }
        #expect(try ImagePackager.libraries(fromLdd: "\tlibx.so => \n\t\n", succeeded: true).isEmpty)
    }

    @Test func theManifestNamesTheRuntime() throws {
        #expect(try RuntimeManifest(yaml: Data("runtime: container\n".utf8)).runtime == .container)
        #expect(try RuntimeManifest(yaml: Data("runtime: process\n".utf8)).runtime == .process)
        #expect(throws: RuntimeError.self) { try RuntimeManifest(yaml: Data("runtime: vm\n".utf8)) }
    }
}
