import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tool the runtime runs to completion (`git`, `swift`): its output appended to a file, waited for
/// with a bound, killed when the waiting task is cancelled or the bound passes.
struct Command: Sendable {
    /// What a finished command left.
    struct Outcome: Sendable {
        /// How it ended.
        var exit: ProcessExit
        /// The end of what it wrote (stdout and stderr together), at most ``Command/maxCapturedBytes``.
        var output: String
        /// Whether it exited with status 0.
        var succeeded: Bool { exit == .exited(0) }
    }

    /// The most bytes of a command's output kept for messages.
    static let maxCapturedBytes = 64 * 1024

    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var directory: String?
    var timeout: Duration = .seconds(600)

    /// Runs the command, its output appended to `log` (a scratch file when nil) and returned (its end).
    func run(log: String? = nil) async throws -> Outcome {
        let output = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("micro-runtime-\(UUID().uuidString).out").path
        let start = log.flatMap { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber)?.uint64Value } ?? 0
        defer { if log == nil { try? FileManager.default.removeItem(atPath: output) } }
        let pid = try ProcessLauncher.spawn(executable, arguments, environment: environment, directory: directory,
                                            output: output, newSession: false)
        let deadline = ContinuousClock.now + timeout
        var exit: ProcessExit?
        while true {
            if let e = ProcessLauncher.reap(pid) { exit = e; break }
            if Task.isCancelled || ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                while ProcessLauncher.reap(pid) == nil { usleep(1000) }
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let text = Self.tail(of: output, from: start)
        guard let exit else {
            throw RuntimeError(.unavailable, "\(executable) \(arguments.joined(separator: " ")) " + (Task.isCancelled ? "was cancelled" : "took longer than \(timeout)"))
        }
        return Outcome(exit: exit, output: text)
    }

    /// The last ``maxCapturedBytes`` of `path` past offset `start`.
    static func tail(of path: String, from start: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let from = max(start, end > UInt64(maxCapturedBytes) ? end - UInt64(maxCapturedBytes) : 0)
        try? handle.seek(toOffset: from)
        let data = (try? handle.readToEnd()) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension Command {
    /// The full path of `tool` on `environment`'s `PATH` (posix_spawn does not search it).
    static func locate(_ tool: String, environment: [String: String]) throws -> String {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            return "\(dir)/\(tool)"
        }
        throw RuntimeError(.unavailable, "\(tool) is not on PATH (\(path))")
    }
}
