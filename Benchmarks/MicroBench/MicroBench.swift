import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

@main
struct MicroBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro-bench",
        abstract: "Throughput and latency of Swift Micro's transports, brokers, NATS client, events, stores, config and sync against raw baselines in the same run, and registry propagation times.",
        subcommands: [RPCBench.self, HandlerBench.self, PubSubBench.self, NATSBench.self, EventsBench.self, GRPCBench.self, RegistryBench.self, RegistryNode.self,
                      ConfigBench.self, SyncBench.self, StoreBench.self, APIBench.self, PeersBench.self, MemoryBench.self])
}

/// Options both subcommands share.
struct CommonOptions: ParsableArguments {
    @Option(help: "Concurrent callers (connections for the NIO load generator, tasks for the client paths).")
    var concurrency: Int = 16
    @Option(help: "Measured seconds per run.")
    var seconds: Double = 5
    @Option(help: "Unmeasured warm-up seconds before each run.")
    var warmup: Double = 1
    @Option(help: "Rounds: raw and framework runs alternate this many times; the best run of each is reported.")
    var rounds: Int = 2
    @Option(help: "Event loop threads of the NIO load generator.")
    var generatorThreads: Int = 1
    @Option(help: "The framework/raw throughput ratio to reach.")
    var target: Double = 0.87
    @Option(help: "Event loop threads of the servers (raw and framework alike); 0: NIO's shared group, one per core.")
    var serverThreads: Int = 0

    /// The servers' event loop group.
    var serverGroup: any EventLoopGroup {
        serverThreads > 0 ? MultiThreadedEventLoopGroup(numberOfThreads: serverThreads) : MultiThreadedEventLoopGroup.singleton
    }

    func validate() throws {
        guard concurrency >= 1, seconds > 0, warmup >= 0, rounds >= 1, generatorThreads >= 1 else {
            throw ValidationError("concurrency, rounds and generator threads must be ≥ 1, seconds > 0, warmup ≥ 0")
        }
    }

    func banner(_ what: String) {
        print(what)
        let servers = serverThreads > 0 ? "\(serverThreads) server event loop thread(s)" : "servers on NIO's shared event loop group"
        print("machine: \(System.coreCount) cores; \(servers); " +
              "load generator: \(generatorThreads) event loop thread(s) of its own")
        print("runs: \(Table.fmt(seconds, 1)) s measured after \(Table.fmt(warmup, 1)) s warm-up, \(concurrency) concurrent callers, " +
              "best of \(rounds) alternating round(s)")
        print("load average at start: \(loadAverage())")
        print("")
    }
}

/// Prints one run as it finishes.
func report(round: Int, _ r: RunResult) {
    var line = "  round \(round)  " + Table.rateRow(r)
    if r.completed == 0 || r.errors > 0, let sample = r.sample { line += "   sample: \(sample)" }
    print(line)
}

func printHeader(delivered: Bool = false) {
    var h = Table.pad("", 11) + Table.pad("subject", 32, left: true) + Table.pad(delivered ? "msgs/s" : "req/s", 12) + Table.pad("p50 ms", 10)
        + Table.pad("p99 ms", 10) + Table.pad("errors", 8)
    if delivered { h += Table.pad("delivered/s", 14) }
    print(h)
}

/// Runs `operation` from `concurrency` tasks in a closed loop; counts calls started in the window
/// and finished before its end.
func runTasks(label: String, concurrency: Int, warmup: Double, seconds: Double, startingAt: UInt64? = nil,
              executors: [any TaskExecutor] = [], operation: @escaping @Sendable () async throws -> Void) async -> RunResult {
    await runTasks(label: label, concurrency: concurrency, warmup: warmup, seconds: seconds, startingAt: startingAt,
                   executors: executors, indexed: { _ in try await operation() })
}

/// ``runTasks(label:concurrency:warmup:seconds:startingAt:executors:operation:)`` passing each task its index
/// (0 ..< concurrency), for operations that keep state per task. With `executors`, task `i` runs on
/// `executors[i % count]` (e.g. event loops, as a service's handlers do), else on the global executor.
func runTasks(label: String, concurrency: Int, warmup: Double, seconds: Double, startingAt: UInt64? = nil,
              executors: [any TaskExecutor] = [], indexed operation: @escaping @Sendable (Int) async throws -> Void) async -> RunResult {
    let recordFrom = startingAt ?? (nowNanos() + UInt64(warmup * 1e9))
    let recordUntil = recordFrom + UInt64(seconds * 1e9)
    struct PerTask: Sendable { var latencies: [UInt64] = []; var errors = 0; var firstError: String? }
    let parts = await withTaskGroup(of: PerTask.self) { group in
        for task in 0..<concurrency {
            group.addTask(executorPreference: executors.isEmpty ? nil : executors[task % executors.count]) {
                var mine = PerTask()
                mine.latencies.reserveCapacity(1 << 16)
                while true {
                    let t0 = nowNanos()
                    if t0 >= recordUntil { break }
                    do {
                        try await operation(task)
                        let t1 = nowNanos()
                        if t0 >= recordFrom && t1 <= recordUntil { mine.latencies.append(t1 - t0) }
                    } catch {
                        if t0 >= recordFrom { mine.errors += 1 }
                        if mine.firstError == nil { mine.firstError = "\(error)" }
                    }
                }
                return mine
            }
        }
        var all: [PerTask] = []
        for await p in group { all.append(p) }
        return all
    }
    var result = RunResult(label: label, seconds: seconds, completed: 0, errors: 0, latencies: [])
    for p in parts {
        result.completed += p.latencies.count
        result.errors += p.errors
        result.latencies += p.latencies
        if result.sample == nil, let e = p.firstError { result.sample = "error: \(e)" }
    }
    return result
}

/// Sleeps until a point on `nowNanos()`'s clock.
func sleep(untilNanos t: UInt64) async {
    let now = nowNanos()
    if t > now { try? await Task.sleep(nanoseconds: t - now) }
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), for the record beside the figures.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}
