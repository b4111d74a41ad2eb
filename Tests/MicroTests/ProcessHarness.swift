import Foundation
import MicroTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One test's processes: a temporary `MICRO_HOME` they all share, the executables they run, and
/// the record of every process started, so ``cleanup()`` kills exactly those (and nothing else).
///
/// Use it from one test function: `let h = try ProcessHarness(); defer { h.cleanup() }`.
final class ProcessHarness {
    /// The temporary `MICRO_HOME` of this test.
    let home: URL
    /// `<home>/registry`, the local registry's directory.
    var registryDirectory: String { home.appendingPathComponent("registry").path }
    private var started: [ManagedProcess] = []
    private var logCounter = 0

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("micro-integ-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    /// The children's environment: this process's, without any `MICRO_*` variable, plus
    /// `MICRO_HOME` and `extra`.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MICRO_") }
        env["MICRO_HOME"] = home.path
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Starts a built executable in the background, stdout and stderr both to `<home>/<label>.log`
    /// (with `outputReaderGone`, stdout is a pipe nobody reads any more and only stderr is logged).
    func start(_ product: String, _ arguments: [String] = [], environment extra: [String: String] = [:],
               label: String? = nil, outputReaderGone: Bool = false) throws -> ManagedProcess {
        try start(executable: try BuiltProducts.executable(product), arguments, environment: extra, label: label ?? product,
                  outputReaderGone: outputReaderGone)
    }

    /// Starts any executable (e.g. the test venv's Python) in the background, output to
    /// `<home>/<label>.log`; with `holdingStdin` its stdin is a pipe kept open until it ends.
    func start(executable: URL, _ arguments: [String] = [], environment extra: [String: String] = [:],
               label: String, holdingStdin: Bool = false, outputReaderGone: Bool = false) throws -> ManagedProcess {
        logCounter += 1
        let log = home.appendingPathComponent("\(label)-\(logCounter).log")
        let process = try SpawnedProcess(executable.path, arguments, replacingEnvironment: environment(extra), directory: home,
                                         output: log, holdingStdin: holdingStdin, outputReaderGone: outputReaderGone)
        let managed = ManagedProcess(process: process, name: "\(label) \(arguments.joined(separator: " "))", log: log)
        started.append(managed)
        return managed
    }

    /// Runs a built executable to completion (killed, and a ``TimedOut`` thrown, after `timeout`)
    /// and returns its exit status and output; `input` is its stdin (default /dev/null).
    func run(_ product: String, _ arguments: [String], environment extra: [String: String] = [:],
             timeout: Duration = .seconds(20), input: URL? = nil, output: CommandOutput = .captured) async throws -> CommandResult {
        try await run(executable: try BuiltProducts.executable(product), arguments, environment: extra, timeout: timeout, label: product,
                      input: input, output: output)
    }

    /// Runs any executable to completion, as ``run(_:_:environment:timeout:input:output:)`` does a built one.
    func run(executable: URL, _ arguments: [String], environment extra: [String: String] = [:],
             timeout: Duration = .seconds(20), label: String, input: URL? = nil, output: CommandOutput = .captured) async throws -> CommandResult {
        logCounter += 1
        let captured = home.appendingPathComponent("cmd-\(logCounter).out")
        let err = home.appendingPathComponent("cmd-\(logCounter).err")
        let clock = ContinuousClock()
        let begin = clock.now
        var out = captured
        if case .file(let path) = output { out = URL(fileURLWithPath: path) }
        let process = try SpawnedProcess(executable.path, arguments, replacingEnvironment: environment(extra), directory: home,
                                         output: out, errors: err, inputFile: input, outputReaderGone: output == .readerGone)
        let command = "\(label) \(arguments.joined(separator: " "))"
        let managed = ManagedProcess(process: process, name: command, log: captured)
        started.append(managed)
        guard await managed.waitForExit(timeout: timeout) else {
            managed.kill()
            throw TimedOut(what: "`\(command)` did not exit", limit: timeout)
        }
        return CommandResult(command: command, status: managed.terminationStatus, exited: managed.exitedNormally,
                             stdout: output == .captured ? (try? String(contentsOf: captured, encoding: .utf8)) ?? "" : "",
                             stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "",
                             duration: clock.now - begin)
    }

    /// Kills (SIGKILL) every process this harness started that is still running, waits (bounded)
    /// for each to be reaped, and removes the temporary home.
    func cleanup() {
        for p in started where p.isRunning { p.kill() }
        let deadline = Date().addingTimeInterval(5)
        for p in started {
            while p.isRunning && Date() < deadline { usleep(10_000) }
        }
        try? FileManager.default.removeItem(at: home)
    }
}

/// Where a command's stdout goes.
enum CommandOutput: Equatable {
    /// To a file the result reads back (``CommandResult/stdout``).
    case captured
    /// To this file or device, e.g. `/dev/full`; not read back.
    case file(String)
    /// To a pipe whose reader is already gone: every write fails with EPIPE.
    case readerGone
}

/// A process a ``ProcessHarness`` started.
final class ManagedProcess: Sendable {
    private let process: SpawnedProcess
    /// What was run, for messages.
    let name: String
    /// Where its output goes.
    let log: URL

    init(process: SpawnedProcess, name: String, log: URL) {
        self.process = process
        self.name = name
        self.log = log
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }
    /// The exit status (or terminating signal) once it ended.
    var terminationStatus: Int32 { process.exitCode ?? process.terminationSignal ?? -1 }
    /// Whether it ended by exiting (rather than by a signal).
    var exitedNormally: Bool { process.exitCode != nil }
    /// Its output so far.
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Sends `signal` to this process, if it is still running (so a reused pid is never hit).
    func signal(_ signal: Int32) { process.signal(signal) }

    /// SIGKILL.
    func kill() { signal(SIGKILL) }

    /// Waits up to `timeout` for the process to end; returns whether it did.
    func waitForExit(timeout: Duration) async -> Bool {
        await poll(timeout: timeout, interval: .milliseconds(10)) { !process.isRunning }
    }

    /// Waits up to `timeout` for `text` to appear in the output.
    func waitForOutput(containing text: String, timeout: Duration) async -> Bool {
        await poll(timeout: timeout) { output.contains(text) }
    }
}

/// How a command ended.
struct CommandResult: CustomStringConvertible {
    var command: String
    var status: Int32
    /// False when a signal ended it.
    var exited: Bool
    var stdout: String
    var stderr: String
    var duration: Duration

    /// stderr's non-empty lines.
    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }

    /// The go-micro JSON error the CLI printed as its first stderr line (`error: {"id":...}`), if it did.
    var microError: [String: Any]? {
        guard let line = stderrLines.first, line.hasPrefix("error: {") else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(line.dropFirst("error: ".count).utf8)) as? [String: Any]
    }

    /// Whether it ended like a crash: by a signal (SIGPIPE, or the SIGILL/SIGTRAP of a Swift trap), or
    /// with a runtime error or a backtrace on stderr.
    var crashed: Bool {
        !exited || ["Fatal error", "Program crashed", "Stack dump", "Current stack trace", "Backtrace"].contains { stderr.contains($0) }
    }

    var description: String {
        "`\(command)` → \(exited ? "exit" : "signal") \(status) in \(duration)\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

