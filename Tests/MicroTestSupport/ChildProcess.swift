import Foundation
import Glibc

/// Running a command from a test to its end, the wait bounded (output collected in files, so no pipe
/// can fill and stall it). Background children are ``SpawnedProcess``es.
public enum ChildProcess {
    /// How a command ended, and what it wrote.
    public struct Outcome: Sendable {
        /// The exit code; 128 + the signal's number when a signal ended it (as shells report it).
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// The command ran past its time and was ended.
        public var timedOut: Bool
    }

    /// Runs `executable` with `arguments` (in `directory`, if given); returns standard output, throws on a
    /// non-zero exit or after `timeout`.
    ///
    /// A ``SpawnedProcess``: always reaped, and a timeout always ends it. Blocks while it waits.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: URL? = nil, timeout: Duration = .seconds(20)) throws -> String {
        let started = try start(executable, arguments, environment: environment, directory: directory)
        let outcome = finish(started, ended: started.child.wait(timeout: timeout))
        if outcome.timedOut { throw EngineMissing(description: "\(executable) ran past \(timeout): \(outcome.stderr) \(outcome.stdout)") }
        guard outcome.status == 0 else {
            throw EngineMissing(description: "\(executable) \(arguments.joined(separator: " ")) failed (status \(outcome.status)): \(outcome.stderr) \(outcome.stdout)")
        }
        return outcome.stdout
    }

    /// Runs `executable` with `arguments` to its end (ended after `timeout`), whatever its exit status.
    ///
    /// Waits by sleeping, not blocking a thread: the cooperative pool may have only two, and the test's
    /// own servers may need them meanwhile.
    public static func outcome(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                               directory: URL? = nil, timeout: Duration = .seconds(20)) async throws -> Outcome {
        let deadline = ContinuousClock.now + timeout
        let started = try start(executable, arguments, environment: environment, directory: directory)
        while started.child.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return finish(started, ended: !started.child.isRunning)
    }

    private struct Started {
        var child: SpawnedProcess
        var out: URL
        var err: URL
    }

    private static func start(_ executable: String, _ arguments: [String], environment: [String: String]?, directory: URL?) throws -> Started {
        let dir = FileManager.default.temporaryDirectory
        let tag = UUID().uuidString.prefix(8)
        let out = dir.appendingPathComponent("child-out-\(tag)")
        let err = dir.appendingPathComponent("child-err-\(tag)")
        do {
            let child = try SpawnedProcess(executable, arguments, environment: environment, directory: directory, output: out, errors: err)
            return Started(child: child, out: out, err: err)
        } catch {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
            throw error
        }
    }

    /// Ends the child if it still runs, reads what it wrote, removes the files.
    private static func finish(_ started: Started, ended: Bool) -> Outcome {
        if !ended { started.child.terminate(grace: .milliseconds(500)) }
        defer {
            try? FileManager.default.removeItem(at: started.out)
            try? FileManager.default.removeItem(at: started.err)
        }
        let status = started.child.exitCode ?? started.child.terminationSignal.map { 128 + $0 } ?? -1
        return Outcome(status: status,
                       stdout: (try? String(contentsOf: started.out, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: started.err, encoding: .utf8)) ?? "",
                       timedOut: !ended)
    }
}
