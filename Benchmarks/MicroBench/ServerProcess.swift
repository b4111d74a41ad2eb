import Foundation
import MicroTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A server the peer and memory benchmarks start as a process of its own on a free loopback port:
/// the release `greeter` (as `swift run greeter` starts it, with a private `MICRO_HOME`) or a Go peer,
/// optionally pinned to one CPU with `taskset` (which execs in place, so the pid is the server's).
/// Its output goes to a log file in `directory`; it is ended by its pid.
final class ServerProcess: Sendable {
    let name: String
    let port: Int
    let log: URL
    private let process: SpawnedProcess

    /// `/proc` readings of the server.
    var probe: ProcessProbe { ProcessProbe(pid: process.pid) }

    /// Starts `executable` (`{port}` in `arguments` and in `environment`'s values becomes the chosen port),
    /// pinned to `cpu` when given, and waits until it accepts connections.
    init(name: String, executable: String, arguments: [String] = [], environment: [String: String] = [:],
         pinnedTo cpu: Int?, directory: URL) throws {
        let port = try freePort()
        let fill = { (s: String) in s.replacingOccurrences(of: "{port}", with: "\(port)") }
        var command = (executable, arguments.map(fill))
        if let cpu {
            let taskset = try ExternalTools.require(["taskset"])["taskset"]!
            command = (taskset, ["-c", "\(cpu)", executable] + arguments.map(fill))
        }
        self.name = name
        self.port = port
        log = directory.appendingPathComponent("\(name)-\(port).log")
        process = try SpawnedProcess(command.0, command.1, environment: environment.mapValues(fill), output: log)
        do {
            try waitUntilListening(timeout: .seconds(60))
        } catch {
            stop()
            throw error
        }
    }

    /// The release greeter: `MICRO_SERVER_ADDRESS` on the chosen port, a `MICRO_HOME` of its own
    /// (local registry, heartbeats, default wrappers as `swift run greeter` runs), plus `environment`.
    static func greeter(_ executable: String, environment: [String: String] = [:], pinnedTo cpu: Int?, directory: URL) throws -> ServerProcess {
        let home = directory.appendingPathComponent("micro-home-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        var env = ["MICRO_HOME": home.path, "MICRO_SERVER_ADDRESS": "127.0.0.1:{port}"]
        env.merge(environment) { $1 }
        let label = environment["MICRO_TRANSPORT"].map { "greeter-\($0)" } ?? "greeter"
        return try ServerProcess(name: label, executable: executable, environment: env, pinnedTo: cpu, directory: directory)
    }

    /// A Go peer listening on `-addr 127.0.0.1:{port}`, with `GOMAXPROCS=1` when pinned.
    static func goPeer(_ executable: String, pinnedTo cpu: Int?, directory: URL) throws -> ServerProcess {
        try ServerProcess(name: (executable as NSString).lastPathComponent, executable: executable, arguments: ["-addr", "127.0.0.1:{port}"],
                          environment: cpu == nil ? [:] : ["GOMAXPROCS": "1"], pinnedTo: cpu, directory: directory)
    }

    /// Polls a TCP connect to the port until it succeeds, the process ends, or `timeout` passes.
    private func waitUntilListening(timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw BenchError("\(name) ended at start (exit \(process.exitCode.map { "\($0)" } ?? "by a signal")); its log: \(tail())")
            }
            if let connection = try? BlockingHTTPConnection(port: port) { connection.close(); return }
            usleep(20_000)
        }
        throw BenchError("\(name) did not listen on 127.0.0.1:\(port) within \(timeout); its log: \(tail())")
    }

    /// The last lines of the server's log, for an error.
    func tail(lines: Int = 10) -> String {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Whether the server still runs.
    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL after 5 s; reaped.
    func stop() { process.terminate(grace: .seconds(5)) }
}
