import Foundation
import Micro
import MicroCore
import MicroTestSupport
import Synchronization
import RuntimeTestSupport
import Testing
@testable import MicroRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `update`: the new instance is healthy before the old one is stopped, so a client calling all the
/// while sees no failure. The greeter is the project's own build, run as a prebuilt binary.
@Suite(.serialized) struct RuntimeUpdateTests {
    /// A flag one task sets and another reads.
    final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    @Test func anUpdateUnderLoadFailsNoCall() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let home = scratch.path + "/home"
        let greeter = try builtExecutable("greeter")
        try await RuntimeHarness.withHealthCheck(home: home) { health, client in
            let runtime = ProcessRuntime(options: RuntimeHarness.options(home: home), store: MemoryStore(), health: health)
            try await RuntimeServing.running(runtime) {
                try await runtime.create(RuntimeSource(parsing: greeter))
                let first = try await RuntimeHarness.wait(for: "greeter", in: runtime) { $0.state.status == .running }
                let deadline = ContinuousClock.now + .seconds(30)
                while await health.healthyNodes(of: "greeter").isEmpty, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let oldPid = try #require(first.state.pid)
                let updated = Flag()
                // A client loop, bounded in count and time, that goes on for 100 calls after the update.
                let (calls, failures) = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
                    group.addTask {
                        var calls = 0, after = 0
                        var failures: [String] = []
                        let stop = ContinuousClock.now + .seconds(90)
                        while calls < 50_000, after < 100, ContinuousClock.now < stop {
                            if updated.isSet { after += 1 }
                            do {
                                let reply = try await client.call("greeter", "Greeter.Hello", ["name": "load"], as: [String: String].self)
                                if reply["message"] != "Hello load" { failures.append("reply \(reply)") }
                            } catch {
                                failures.append("\(error)")
                            }
                            calls += 1
                        }
                        return (calls, failures)
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    try await runtime.update("greeter")
                    updated.set()
                    return try await group.next() ?? (0, ["no result"])
                }
                #expect(failures.isEmpty, "\(failures.count) of \(calls) calls failed: \(failures.prefix(5))")
                #expect(calls > 100)
                let second = try await runtime.list("greeter")[0]
                #expect(second.generation == first.generation + 1)
                #expect(second.state.status == .running)
                #expect(second.state.pid != nil && second.state.pid != oldPid)
                #expect(ProcessIdentity.startTime(of: oldPid) == nil, "the old instance was stopped")
                #expect(await health.healthyNodes(of: "greeter").count == 1)
                await RuntimeHarness.removeAll(runtime)
            }
        }
    }
}
