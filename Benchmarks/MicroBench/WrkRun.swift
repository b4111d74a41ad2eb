import Foundation
import MicroTestSupport

/// One wrk run (`wrk -t1 -cN -dSs`, optionally pinned with taskset) against a server process, with
/// the server's CPU time over it: req/s, p50/p99 from wrk's histogram, errors.
struct WrkRun {
    let wrk: String
    let script: URL
    let directory: URL
    /// The CPU the load generator is pinned to, or nil.
    let cpu: Int?

    /// Runs wrk for `seconds` (whole seconds) against `server`.
    func run(label: String, server: ServerProcess, connections: Int, seconds: Int) throws -> RunResult {
        let output = directory.appendingPathComponent("wrk-\(server.port).out")
        var command = (wrk, ["-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "5s", "-s", script.path, "http://127.0.0.1:\(server.port)/"])
        if let cpu { command = (try ExternalTools.require(["taskset"])["taskset"]!, ["-c", "\(cpu)"] + [command.0] + command.1) }
        let cpuBefore = server.probe.cpuSeconds()
        let process = try SpawnedProcess(command.0, command.1, output: output)
        guard process.wait(timeout: .seconds(seconds + 30)) else {
            process.kill()
            throw BenchError("wrk did not finish within \(seconds + 30) s")
        }
        let cpuSeconds = server.probe.cpuSeconds() - cpuBefore
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.exitCode == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("MICROBENCH ") }) else {
            throw BenchError("wrk failed (exit \(process.exitCode.map { "\($0)" } ?? "by a signal")): \(text.suffix(500))")
        }
        let fields = line.split(separator: " ").dropFirst().map { Double($0) }
        guard fields.count == 9, fields.allSatisfy({ $0 != nil }) else { throw BenchError("wrk's summary line is malformed: \(line)") }
        let f = fields.map { $0! }
        let duration = f[1] / 1e6
        guard duration > 0 else { throw BenchError("wrk ran for no time: \(line)") }
        var result = RunResult(label: label, seconds: duration, completed: Int(f[0]), errors: Int(f[2] + f[3] + f[4] + f[5] + f[6]), latencies: [])
        result.reportedPercentiles = [50: f[7] / 1000, 99: f[8] / 1000]
        result.cpuSeconds = cpuSeconds
        if result.errors > 0 { result.sample = "wrk errors (connect read write status timeout): \(f[2...6].map { Int($0) })" }
        return result
    }
}
