import Foundation
import MicroTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The README's runtime commands, as written: `micro runtime`, then `micro run Examples/Runtime/store`
/// (the greeter first, healthy, then the store service that depends on it), `micro ps`, `micro call`,
/// `micro logs`, `micro kill`.
@Suite(.serialized) struct RuntimeCLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeCommandsRunTheGreeterAndItsDependent() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let microPath = try builtExecutable("micro")
        for product in ["greeter", "micro"] {
            let path = Self.packageRoot.appendingPathComponent(".build/debug/\(product)").path
            try #require(FileManager.default.isExecutableFile(atPath: path), "the README's manifests run \(path): build it with `swift build`")
        }
        let environment = ["MICRO_HOME": scratch.path + "/home"]
        let runtime = try SpawnedProcess(microPath, ["runtime"], environment: environment, directory: Self.packageRoot,
                                         output: scratch.url.appendingPathComponent("runtime.log"))
        defer { runtime.terminate() }
        func micro(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ChildProcess.Outcome {
            try await ChildProcess.outcome(microPath, arguments, environment: environment, directory: Self.packageRoot, timeout: timeout)
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while try await micro(["ps"]).status != 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }

        let run = try await micro(["run", "Examples/Runtime/store"], timeout: .seconds(120))
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("starting greeter, go.micro.store"))
        #expect(run.stdout.contains("greeter running"))
        #expect(run.stdout.contains("go.micro.store running"))

        let ps = try await micro(["ps"])
        let rows = ps.stdout.split(separator: "\n").map(String.init)
        #expect(rows.first?.hasPrefix("NAME") == true)
        #expect(rows.contains { $0.hasPrefix("greeter ") && $0.contains(" running ") && $0.contains(" process ") })
        #expect(rows.contains { $0.hasPrefix("go.micro.store ") && $0.contains(" running ") })

        let call = try await micro(["call", "greeter", "Greeter.Hello", #"{"name":"world"}"#])
        #expect(call.stdout.contains("Hello world"), "\(call.stderr)")
        let logs = try await micro(["logs", "greeter"])
        #expect(logs.stdout.contains("[runtime] start: "), "\(logs.stderr)")
        let again = try await micro(["run", "Examples/Runtime/greeter"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already runs"))
        // Not run by the runtime: its nodes' Debug.Log is asked, and there are none.
        let missing = try await micro(["logs", "absent"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("absent"))

        for name in ["go.micro.store", "greeter"] {
            let kill = try await micro(["kill", name], timeout: .seconds(30))
            #expect(kill.status == 0, "\(kill.stderr)")
        }
        #expect(try await micro(["ps"]).stdout.split(separator: "\n").count == 1)
        runtime.terminate()
        #expect(runtime.exitCode == 0)
    }
}
