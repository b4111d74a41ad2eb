import ArgumentParser
import Foundation
import MicroTestSupport
import NIOCore

struct PeersBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "The release greeter beside Go peers doing the same Hello (net/http over HTTP/1.1 with wrk, grpc-go with h2load), " +
                  "pinned to CPU 0 (Go with GOMAXPROCS=1) with the load generator on CPU 1, and unpinned; MicroNATS beside nats.go on one nats-server.",
        discussion: """
            Builds the Go peers from Benchmarks/GoPeers (build.sh, GOPATH mode with Debian's golang-go, \
            golang-google-grpc-dev, golang-goprotobuf-dev, golang-github-nats-io-go-nats-dev) and runs the greeter \
            that sits beside this micro-bench (build both with -c release). Each round runs the Go peer and the \
            greeter one after the other, in alternating order; figures are the medians of the rounds.
            """)

    @Option(help: "Rows to run, comma-separated: http, grpc, nats.")
    var only: String = "http,grpc,nats"
    @Option(help: "Placements, comma-separated: pinned (servers on CPU 0, the load generator on CPU 1), unpinned.")
    var placements: String = "pinned,unpinned"
    @Option(help: "Measured seconds per run (whole seconds: wrk and h2load take them).")
    var seconds: Int = 5
    @Option(help: "Unmeasured warm-up seconds before each run.")
    var warmup: Int = 1
    @Option(help: "Rounds: the Go peer and the greeter alternate this many times.")
    var rounds: Int = 3
    @Option(help: "Connections of the throughput rows (wrk -c, h2load -c; one stream each).")
    var connections: Int = 16
    @Option(help: "The greeter/Go ratio to reach.")
    var target: Double = 1.0
    @OptionGroup var programs: GoPeers
    @Option(help: "Messages per NATS publish and publish→subscribe run.")
    var messages: Int = 1_000_000
    @Option(help: "Requests per NATS request/reply run.")
    var requests: Int = 20_000
    @Option(help: "The nats-server binary (default: $MICRO_NATS_SERVER, /usr/sbin/nats-server).")
    var natsServer: String?

    private var rows: Set<String> { Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    private var placementList: [String] { placements.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        guard !rows.isEmpty, rows.isSubset(of: ["http", "grpc", "nats"]) else { throw ValidationError("only: http, grpc, nats") }
        guard !placementList.isEmpty, Set(placementList).isSubset(of: ["pinned", "unpinned"]) else { throw ValidationError("placements: pinned, unpinned") }
        guard (1...600).contains(seconds), (0...60).contains(warmup), (1...50).contains(rounds), (1...10_000).contains(connections) else {
            throw ValidationError("seconds 1...600, warmup 0...60, rounds 1...50, connections 1...10000")
        }
        guard messages >= 1000, requests >= 100 else { throw ValidationError("messages ≥ 1000, requests ≥ 100") }
    }

    func run() async throws {
        var tools = ["taskset"]
        if rows.contains("http") { tools.append("wrk") }
        if rows.contains("grpc") { tools.append("h2load") }
        let found = try ExternalTools.require(tools + ["go", "protoc", "protoc-gen-go"])
        let greeterPath = try programs.greeterPath()
        let bin = try programs.build()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("micro-bench-peers-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        print("micro-bench peers — the release greeter (\(greeterPath)) beside Go peers (\(bin.path)), Greeter.Hello {\"name\":\"world\"}")
        print("machine: \(System.coreCount) cores; \(rounds) rounds of \(seconds) s after \(warmup) s warm-up, Go peer and greeter alternating; " +
              "figures are the medians of the rounds")
        print("load average at start: \(loadAverage())")
        var summary: [String] = []
        for placement in placementList where rows.contains("http") || rows.contains("grpc") {
            let pinned = placement == "pinned"
            if pinned && System.coreCount < 2 {
                print("\npinned rows skipped: they need 2 cores (the servers on CPU 0, the load generator on CPU 1)")
                continue
            }
            let serverCPU = pinned ? 0 : nil, loadCPU = pinned ? 1 : nil
            let placementNote = pinned ? "pinned: servers on CPU 0 (Go GOMAXPROCS=1), load generator on CPU 1" : "unpinned: servers and load generator on any core"
            if rows.contains("http") {
                print("\nHTTP/1.1 mucp (wrk -t1, Lua script posting the JSON Hello) — \(placementNote)")
                let script = directory.appendingPathComponent("hello.lua")
                try MucpHello.wrkScript.write(to: script, atomically: true, encoding: .utf8)
                let wrk = WrkRun(wrk: found["wrk"]!, script: script, directory: directory, cpu: loadCPU)
                let go = try ServerProcess.goPeer(bin.appendingPathComponent("http-greeter").path, pinnedTo: serverCPU, directory: directory)
                defer { go.stop() }
                let ours = try ServerProcess.greeter(greeterPath, pinnedTo: serverCPU, directory: directory)
                defer { ours.stop() }
                try MucpHello.checkHTTP(port: go.port, server: "the Go peer")
                try MucpHello.checkHTTP(port: ours.port, server: "the greeter")
                summary += try await pair(path: "HTTP/1.1 mucp, \(placement)", go: go, ours: ours) { server, label, connections in
                    if warmup > 0 { _ = try wrk.run(label: label, server: server, connections: connections, seconds: warmup) }
                    return try wrk.run(label: label, server: server, connections: connections, seconds: seconds)
                }
            }
            if rows.contains("grpc") {
                print("\ngRPC (h2load -m1 -t1, protobuf Hello to \(MucpHello.grpcPath)) — \(placementNote)")
                let frame = directory.appendingPathComponent("hello.grpc")
                try Data(MucpHello.grpcFrame).write(to: frame)
                let h2load = H2LoadRun(h2load: found["h2load"]!, frame: frame, directory: directory, cpu: loadCPU)
                let go = try ServerProcess.goPeer(bin.appendingPathComponent("grpc-greeter").path, pinnedTo: serverCPU, directory: directory)
                defer { go.stop() }
                let ours = try ServerProcess.greeter(greeterPath, environment: ["MICRO_TRANSPORT": "grpc"], pinnedTo: serverCPU, directory: directory)
                defer { ours.stop() }
                try await MucpHello.checkGRPC(port: go.port, server: "grpc-go")
                try await MucpHello.checkGRPC(port: ours.port, server: "the greeter")
                summary += try await pair(path: "gRPC, \(placement)", go: go, ours: ours) { server, label, connections in
                    try await h2load.run(label: label, server: server, connections: connections, seconds: seconds, warmup: warmup,
                                         latencies: connections == 1)
                }
            }
        }
        if rows.contains("nats") { summary += try await nats(bin: bin) }
        print("\nsummary (medians of \(rounds) rounds; ratio: greeter / Go for req/s, Go / greeter for latency; target ≥ \(Table.fmt(target, 2))):")
        for line in summary { print(line) }
        print("load average at the end: \(loadAverage())")
    }

    /// The throughput rows (`connections`) and the latency rows (1 connection) of one path: the Go peer and
    /// the greeter in alternating order each round, with their CPU per call.
    private func pair(path: String, go: ServerProcess, ours: ServerProcess,
                      run: @escaping (ServerProcess, String, Int) async throws -> RunResult) async throws -> [String] {
        var lines: [String] = []
        for connections in [self.connections, 1] {
            print("  \(connections) connection(s):")
            printHeader()
            var runs = PairedRuns()
            for round in 1...rounds {
                try await runs.measure(round: round,
                                       baseline: { try await run(go, "go-\(go.name)", connections) },
                                       subject: { try await run(ours, ours.name, connections) })
            }
            let goRate = median(runs.baseline.map(\.requestsPerSecond)), ourRate = median(runs.subject.map(\.requestsPerSecond))
            if connections == 1 {
                let go50 = median(runs.baseline.map { $0.percentileMillis(50) }), our50 = median(runs.subject.map { $0.percentileMillis(50) })
                let go99 = median(runs.baseline.map { $0.percentileMillis(99) }), our99 = median(runs.subject.map { $0.percentileMillis(99) })
                lines.append("  \(Table.pad(path + ", 1 connection", 40, left: true)) p50 greeter \(Table.fmt(our50, 3)) ms, Go \(Table.fmt(go50, 3)) ms "
                             + "→ \(verdict(go50 / our50));  p99 greeter \(Table.fmt(our99, 3)) ms, Go \(Table.fmt(go99, 3)) ms → \(verdict(go99 / our99))")
            } else {
                lines.append("  \(Table.pad(path + ", \(connections) connections", 40, left: true)) greeter \(Table.pad(Table.fmt(ourRate, 0), 8)) req/s, "
                             + "Go \(Table.pad(Table.fmt(goRate, 0), 8)) req/s → \(verdict(runs.rates.median)) "
                             + "(rounds \(runs.rates.values.map { Table.fmt($0, 3) }.joined(separator: " "))); CPU per call Go/greeter \(Table.fmt(runs.cpu.median, 3))")
            }
        }
        return lines
    }

    /// nats.go's bench program beside MicroNATS on one nats-server, alternating each round.
    private func nats(bin: URL) async throws -> [String] {
        let server = try NATSServerRun(binary: natsServer)
        defer { server.stop() }
        print("\nNATS — nats.go (\(bin.appendingPathComponent("nats-bench").path)) beside MicroNATS, nats-server on 127.0.0.1:\(server.port), unpinned")
        print("publish and publish→subscribe: \(messages) messages of 1 KiB per run; request/reply: \(requests) sequential 16-byte requests")
        let micro = MicroNATSRuns(url: server.url, messages: messages, requests: requests)
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 1024)
        var lines: [String] = []
        for mode in ["publish", "pubsub", "request"] {
            var goRuns: [[Double]] = [], ourRuns: [[Double]] = []
            for round in 1...rounds {
                for goFirst in round % 2 == 1 ? [true, false] : [false, true] {
                    if goFirst {
                        goRuns.append(try goNATS(bin: bin, url: server.url, mode: mode))
                    } else if mode == "request" {
                        let latencies = try await micro.requestLatencies()
                        let r = RunResult(label: "MicroNATS", seconds: Double(latencies.reduce(0, +)) / 1e9, completed: latencies.count, errors: 0,
                                          latencies: latencies)
                        ourRuns.append([r.requestsPerSecond, r.percentileMillis(50), r.percentileMillis(99)])
                    } else {
                        ourRuns.append([mode == "publish" ? try await micro.publish(payload: payload) : try await micro.pubSub(payload: payload)])
                    }
                }
                let g = goRuns.last!, o = ourRuns.last!
                print("  round \(round)  \(Table.pad(mode, 8, left: true))  nats.go \(Table.pad(Table.fmt(g[0], 0), 9)) msgs/s" +
                      (mode == "request" ? " p50 \(Table.fmt(g[1], 3)) ms" : "") +
                      "   MicroNATS \(Table.pad(Table.fmt(o[0], 0), 9)) msgs/s" + (mode == "request" ? " p50 \(Table.fmt(o[1], 3)) ms" : ""))
            }
            let goRate = median(goRuns.map { $0[0] }), ourRate = median(ourRuns.map { $0[0] })
            let names = ["publish": "publish 1 KiB", "pubsub": "publish→subscribe 1 KiB", "request": "request/reply 16 B"]
            if mode == "request" {
                let go50 = median(goRuns.map { $0[1] }), our50 = median(ourRuns.map { $0[1] })
                let go99 = median(goRuns.map { $0[2] }), our99 = median(ourRuns.map { $0[2] })
                lines.append("  \(Table.pad("NATS " + names[mode]!, 40, left: true)) p50 MicroNATS \(Table.fmt(our50, 3)) ms, nats.go \(Table.fmt(go50, 3)) ms "
                             + "→ \(verdict(go50 / our50));  p99 MicroNATS \(Table.fmt(our99, 3)) ms, nats.go \(Table.fmt(go99, 3)) ms")
            } else {
                lines.append("  \(Table.pad("NATS " + names[mode]!, 40, left: true)) MicroNATS \(Table.pad(Table.fmt(ourRate, 0), 8)) msgs/s, "
                             + "nats.go \(Table.pad(Table.fmt(goRate, 0), 8)) msgs/s → \(verdict(ourRate / goRate))")
            }
        }
        return lines
    }

    /// One run of the nats.go bench: `[msgs/s]`, or `[req/s, p50 ms, p99 ms]` for request.
    private func goNATS(bin: URL, url: String, mode: String) throws -> [Double] {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("micro-bench-nats-go-\(getpid()).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = try SpawnedProcess(bin.appendingPathComponent("nats-bench").path,
                                         ["-url", url, "-mode", mode, "-messages", "\(messages)", "-requests", "\(requests)", "-size", "1024"],
                                         output: output)
        guard process.wait(timeout: .seconds(300)) else {
            process.kill()
            throw BenchError("nats-bench -mode \(mode) did not finish within 300 s")
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        // `<mode> <size> <msgs/s> <p50 ms> <p99 ms>`
        guard process.exitCode == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix(mode + " ") }) else {
            throw BenchError("nats-bench -mode \(mode) failed: \(text.suffix(500))")
        }
        let fields = line.split(separator: " ")
        guard fields.count == 5, let rate = Double(fields[2]) else { throw BenchError("nats-bench printed a malformed line: \(line)") }
        guard mode == "request" else { return [rate] }
        guard let p50 = Double(fields[3]), let p99 = Double(fields[4]) else { throw BenchError("nats-bench printed a malformed line: \(line)") }
        return [rate, p50, p99]
    }

    private func verdict(_ ratio: Double) -> String {
        "\(Table.fmt(ratio, 3)) \(ratio >= target ? "PASS" : "BELOW")"
    }

    private func median(_ values: [Double]) -> Double {
        var ratios = RoundRatios()
        for v in values where !v.isNaN { ratios.append(v) }
        return ratios.median
    }
}
