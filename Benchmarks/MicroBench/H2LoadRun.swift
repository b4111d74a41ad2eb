import Foundation
import MicroTestSupport

/// One h2load run (`h2load -cN -m1 -t1 -D S --warm-up-time W`, optionally pinned with taskset) posting
/// the gRPC Hello frame to a server process, with the server's CPU time over the measured window: req/s
/// from the requests that succeeded in it, and with `latencies` every request's time from h2load's log.
struct H2LoadRun {
    let h2load: String
    let frame: URL
    let directory: URL
    /// The CPU the load generator is pinned to, or nil.
    let cpu: Int?

    func run(label: String, server: ServerProcess, connections: Int, seconds: Int, warmup: Int, latencies: Bool) async throws -> RunResult {
        let output = directory.appendingPathComponent("h2load-\(server.port).out")
        let log = directory.appendingPathComponent("h2load-\(server.port).tsv")
        try? FileManager.default.removeItem(at: log)
        var arguments = ["-c\(connections)", "-m1", "-t1", "-D", "\(seconds)", "--warm-up-time", "\(warmup)", "-d", frame.path,
                         "-H", "content-type: application/grpc", "-H", "te: trailers"]
        if latencies { arguments += ["--log-file", log.path] }
        arguments.append("http://127.0.0.1:\(server.port)\(MucpHello.grpcPath)")
        var command = (h2load, arguments)
        if let cpu { command = (try ExternalTools.require(["taskset"])["taskset"]!, ["-c", "\(cpu)", h2load] + arguments) }
        let process = try SpawnedProcess(command.0, command.1, output: output)
        try await Task.sleep(for: .seconds(warmup))
        let cpuBefore = server.probe.cpuSeconds()
        try await Task.sleep(for: .seconds(seconds))
        let cpuSeconds = server.probe.cpuSeconds() - cpuBefore
        guard process.wait(timeout: .seconds(30)) else {
            process.kill()
            throw BenchError("h2load did not finish within 30 s of its duration")
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.exitCode == 0, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("requests: ") }) else {
            throw BenchError("h2load failed (exit \(process.exitCode.map { "\($0)" } ?? "by a signal")): \(text.suffix(500))")
        }
        // "requests: T total, S started, D done, OK succeeded, F failed, E errored, X timeout"
        var counts: [String: Int] = [:]
        for part in line.dropFirst("requests: ".count).split(separator: ",") {
            let words = part.split(separator: " ")
            if words.count == 2, let n = Int(words[0]) { counts[String(words[1])] = n }
        }
        guard let succeeded = counts["succeeded"], let failed = counts["failed"], let errored = counts["errored"] else {
            throw BenchError("h2load's requests line is malformed: \(line)")
        }
        var result = RunResult(label: label, seconds: Double(seconds), completed: succeeded, errors: failed + errored + (counts["timeout"] ?? 0),
                               latencies: [])
        result.cpuSeconds = cpuSeconds
        if latencies {
            // Tab-separated: start (µs since the epoch), status, microseconds to the end of the response.
            let rows = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            result.latencies.reserveCapacity(succeeded)
            for row in rows.split(separator: "\n") {
                let columns = row.split(separator: "\t")
                if columns.count == 3, columns[1] == "200", let micros = UInt64(columns[2]) { result.latencies.append(micros * 1000) }
            }
        }
        if result.errors > 0 { result.sample = String(line) }
        return result
    }
}
