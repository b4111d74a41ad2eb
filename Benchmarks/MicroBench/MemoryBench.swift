import ArgumentParser
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

struct MemoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "The release greeter's resident memory: idle, per idle keep-alive connection (one Hello each, then held), " +
                  "and over a bounded wrk load; the Go net/http peer measured the same way as the baseline.",
        discussion: """
            Resident memory is VmRSS from /proc (what top shows); kernel socket buffers are not in it. The greeter is \
            started as `swift run greeter` starts it (local registry, heartbeats, default wrappers), unpinned, with a \
            MICRO_HOME of its own; --environment adds variables (e.g. MALLOC_ARENA_MAX=2) to try what changes it.
            """)

    @Option(help: "Parts to run, comma-separated: idle, connections, growth.")
    var only: String = "idle,connections,growth"
    @Option(help: "Idle connections to hold (the greeter's maxConnections is 10,000).")
    var connections: Int = 10_000
    @Option(help: "Times to open the idle connections and close them again (a second cycle shows whether the memory is reused).")
    var cycles: Int = 2
    @Option(help: "Seconds of load (wrk -t1 -c16) for the growth part.")
    var loadSeconds: Int = 600
    @Option(help: "Resident-memory samples over the load.")
    var samples: Int = 10
    @Option(help: "Seconds to let a server settle before each idle reading.")
    var settle: Double = 5
    @OptionGroup var programs: GoPeers
    @Flag(help: "Measure the greeter only (no Go peer: go need not be installed).")
    var noGo = false
    @Flag(help: "Print the greeter's largest mappings by resident memory and its anonymous mappings by size.")
    var detail = false
    @Option(parsing: .singleValue, help: "KEY=VALUE added to the greeter's environment (repeatable).")
    var environment: [String] = []

    private var parts: Set<String> { Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }

    func validate() throws {
        guard !parts.isEmpty, parts.isSubset(of: ["idle", "connections", "growth"]) else { throw ValidationError("only: idle, connections, growth") }
        guard (1...50_000).contains(connections), (1...10).contains(cycles), (1...86_400).contains(loadSeconds), (1...1000).contains(samples), (0...600).contains(settle) else {
            throw ValidationError("connections 1...50000, cycles 1...10, load-seconds 1...86400, samples 1...1000, settle 0...600")
        }
        for e in environment where !e.contains("=") { throw ValidationError("--environment takes KEY=VALUE, got \(e)") }
    }

    func run() async throws {
        let wrkPath = parts.contains("growth") ? try ExternalTools.require(["wrk"])["wrk"] : nil
        let greeterPath = try programs.greeterPath()
        var goPath: String?
        if !noGo {
            goPath = try programs.build().appendingPathComponent("http-greeter").path
        }
        let limit = try raiseFileLimit(to: parts.contains("connections") ? connections + 1024 : 0)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("micro-bench-memory-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var env: [String: String] = [:]
        for e in environment {
            let kv = e.split(separator: "=", maxSplits: 1)
            env[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }

        print("micro-bench memory — the release greeter (\(greeterPath))" + (goPath.map { " and the Go net/http peer (\($0))" } ?? "") +
              (env.isEmpty ? "" : "; greeter environment: \(environment.joined(separator: " "))"))
        print("machine: \(System.coreCount) cores; open files: soft limit \(limit.soft), hard \(limit.hard); load average at start: \(loadAverage())")
        var summary: [String] = []
        var subjects: [(String, () throws -> ServerProcess)] = [("greeter", { try ServerProcess.greeter(greeterPath, environment: env, pinnedTo: nil, directory: directory) })]
        if let goPath { subjects.append(("go net/http", { try ServerProcess.goPeer(goPath, pinnedTo: nil, directory: directory) })) }

        for (name, start) in subjects where parts.contains("idle") || parts.contains("connections") {
            let server = try start()
            defer { server.stop() }
            print("\n\(name) (pid \(server.probe.pid), port \(server.port))")
            try await Task.sleep(for: .seconds(settle))
            let atStart = reading(server)
            print("  idle after start:               \(atStart.line)")
            try MucpHello.checkHTTP(port: server.port, server: name)
            try await Task.sleep(for: .seconds(settle))
            let afterCall = reading(server)
            print("  idle after one call:            \(afterCall.line)")
            summary.append("  \(Table.pad(name, 12, left: true)) idle: \(Table.fmt(afterCall.rssMiB, 1)) MiB resident (\(afterCall.line))")
            if name == "greeter" && detail { printDetail(server.probe) }
            guard parts.contains("connections") else { continue }
            let request = MucpHello.httpRequest(port: server.port)
            for cycle in 1...cycles {
                if cycles > 1 { print("  cycle \(cycle) of \(cycles):") }
                var held: [BlockingHTTPConnection] = []
                held.reserveCapacity(connections)
                var failure: String?
                var opening: UInt64 = 0
                for checkpoint in [min(1000, connections), connections] where checkpoint > held.count {
                    let t0 = nowNanos()
                    while held.count < checkpoint {
                        do {
                            let connection = try BlockingHTTPConnection(port: server.port)
                            let answer = try connection.call(request)
                            guard answer.status == 200, String(decoding: answer.body, as: UTF8.self) == MucpHello.expectedJSON else {
                                throw BenchError("answered \(answer.status) \(String(decoding: answer.body.prefix(100), as: UTF8.self))")
                            }
                            held.append(connection)
                        } catch {
                            failure = "connection \(held.count + 1): \(error)"
                            break
                        }
                    }
                    opening += nowNanos() - t0
                    try await Task.sleep(for: .seconds(2))
                    let now = reading(server)
                    let per = (now.rssMiB - afterCall.rssMiB) * 1024 / Double(max(1, held.count))
                    print("  \(Table.pad("\(held.count) idle connections:", 32, left: true))\(now.line); \(Table.fmt(per, 1)) KiB per connection")
                    if checkpoint == connections || failure != nil {
                        let label = (cycles > 1 ? "cycle \(cycle): " : "") + "\(held.count) idle connections"
                        summary.append("  \(Table.pad(name, 12, left: true)) \(label): +\(Table.fmt(now.rssMiB - afterCall.rssMiB, 1)) MiB, "
                                       + "\(Table.fmt(per, 1)) KiB per connection")
                    }
                    if failure != nil { break }
                }
                print("  (opened and called in \(Table.fmt(Double(opening) / 1e9, 1)) s)")
                if let failure { print("  stopped opening connections: \(failure)") }
                for c in held { c.close() }
                held.removeAll()
                try await Task.sleep(for: .seconds(settle))
                print("  after closing them:             \(reading(server).line)")
            }
        }

        if parts.contains("growth"), let wrkPath {
            let server = try ServerProcess.greeter(greeterPath, environment: env, pinnedTo: nil, directory: directory)
            defer { server.stop() }
            let script = directory.appendingPathComponent("hello.lua")
            try MucpHello.wrkScript.write(to: script, atomically: true, encoding: .utf8)
            try MucpHello.checkHTTP(port: server.port, server: "greeter")
            try await Task.sleep(for: .seconds(settle))
            let before = reading(server)
            print("\ngreeter under load: wrk -t1 -c16 for \(loadSeconds) s, resident memory every \(Table.fmt(Double(loadSeconds) / Double(samples), 1)) s")
            print("  before the load:  \(before.line)")
            let wrk = WrkRun(wrk: wrkPath, script: script, directory: directory, cpu: nil)
            let seconds = loadSeconds
            let load = Task.detached { try wrk.run(label: "greeter", server: server, connections: 16, seconds: seconds) }
            var series: [Double] = []
            let t0 = nowNanos()
            for i in 1...samples {
                await sleep(untilNanos: t0 + UInt64(Double(loadSeconds) * 1e9 * Double(i) / Double(samples)) - 200_000_000)
                let now = reading(server)
                series.append(now.rssMiB)
                print("  \(Table.pad(Table.fmt(Double(nowNanos() - t0) / 1e9, 0), 6)) s:  \(now.line)")
            }
            let result = try await load.value
            try await Task.sleep(for: .seconds(settle))
            let after = reading(server)
            print("  after the load:   \(after.line)")
            print("  wrk: \(Table.fmt(result.requestsPerSecond, 0)) req/s, \(result.completed) calls, \(result.errors) errors, p99 \(Table.fmt(result.percentileMillis(99), 3)) ms")
            let start = series.first ?? .nan, middle = series[series.count / 2], end = series.last ?? .nan
            summary.append("  greeter over \(loadSeconds) s of load (\(result.completed) calls): resident \(Table.fmt(before.rssMiB, 1)) MiB before, "
                           + "\(Table.fmt(start, 1)) at the first sample, \(Table.fmt(middle, 1)) in the middle, \(Table.fmt(end, 1)) at the end "
                           + "(growth first→end \(Table.fmt(end - start, 1)) MiB), max \(Table.fmt(series.max() ?? .nan, 1)), "
                           + "\(Table.fmt(after.rssMiB, 1)) after it")
        }
        print("\nsummary:")
        for line in summary { print(line) }
        print("load average at the end: \(loadAverage())")
    }

    /// Resident memory and its parts, for one line.
    private struct Reading {
        var rssMiB: Double
        var line: String
    }

    private func reading(_ server: ServerProcess) -> Reading {
        let status = server.probe.status()
        let rollup = server.probe.smapsRollup()
        func mib(_ kib: Int?) -> String { kib.map { Table.fmt(Double($0) / 1024, 1) } ?? "-" }
        let rss = status["VmRSS"].map { Double($0) / 1024 } ?? .nan
        return Reading(rssMiB: rss, line: "RSS \(mib(status["VmRSS"])) MiB (anon \(mib(status["RssAnon"])), file \(mib(status["RssFile"])), "
                       + "PSS \(mib(rollup["Pss"]))), threads \(status["Threads"].map { "\($0)" } ?? "-")")
    }

    private func printDetail(_ probe: ProcessProbe) {
        print("  largest mappings by resident memory:")
        for (name, kib) in probe.residentByMapping(top: 12) {
            print("    \(Table.pad(Table.fmt(Double(kib) / 1024, 2), 8)) MiB  \(name)")
        }
        let sizes = probe.anonymousMappings().filter { $0.value >= 3 }.sorted { $0.value > $1.value }.prefix(8)
        print("  unnamed mappings by size (3 or more of a size: thread stacks, allocator arenas): "
              + sizes.map { "\($0.value) × \($0.key) KiB" }.joined(separator: ", "))
    }

    /// Raises this process's soft open-file limit to `wanted` (at most the hard limit); the servers it
    /// starts inherit it. Returns the limits after.
    private func raiseFileLimit(to wanted: Int) throws -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw BenchError("getrlimit: \(String(cString: strerror(errno)))") }
        if wanted > Int(limit.rlim_cur) {
            let hard = limit.rlim_max
            limit.rlim_cur = min(rlim_t(wanted), hard)
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw BenchError("setrlimit: \(String(cString: strerror(errno)))") }
            if Int(limit.rlim_cur) < wanted {
                print("note: the hard open-file limit (\(hard)) is below \(wanted): fewer connections may be held")
            }
        }
        return (Int(limit.rlim_cur), Int(limit.rlim_max))
    }
}
