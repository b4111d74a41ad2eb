import Foundation
import Glibc

/// Running a command from a test to its end, the wait bounded (output collected in files, so no pipe
/// can fill and stall it). Background children are ``SpawnedProcess``es.
public enum ChildProcess {
    /// Runs `executable` with `arguments` (in `directory`, if given); returns standard output, throws on a
    /// non-zero exit or after `timeout`.
    ///
    /// A ``SpawnedProcess``: always reaped, and a timeout always ends it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: URL? = nil, timeout: Duration = .seconds(20)) throws -> String {
        let dir = FileManager.default.temporaryDirectory
        let out = dir.appendingPathComponent("child-out-\(UUID().uuidString.prefix(8))")
        let err = dir.appendingPathComponent("child-err-\(UUID().uuidString.prefix(8))")
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        let child = try SpawnedProcess(executable, arguments, environment: environment, directory: directory, output: out, errors: err)
        let ended = child.wait(timeout: timeout)
        if !ended { child.kill() }
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        if !ended { throw EngineMissing(description: "\(child.command) ran past \(timeout): \(stderr) \(stdout)") }
        guard child.exitCode == 0 else {
            throw EngineMissing(description: "\(child.command) failed (exit \(child.exitCode.map(String.init) ?? "by a signal")): \(stderr) \(stdout)")
        }
        return stdout
    }
}
