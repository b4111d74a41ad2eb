import ArgumentParser
import Foundation
import Micro
import MicroPrometheus
import NIOCore
import NIOPosix

/// The server's per-call cost in process, without the network: the greeter's `Router.handle` called in
/// a loop, with the same subjects as `micro-bench rpc` (debug buffers + Prometheus on vs off, auth on vs
/// off). Counts instructions repeatably under `valgrind --tool=callgrind` (run one subject at two
/// `--calls` and take the difference), and times each subject on a quiet machine.
struct HandlerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handler",
        abstract: "Router.handle per call in process (no network): debug buffers + Prometheus on vs off, auth on vs off.")

    @Option(help: "Calls per subject and round.")
    var calls: Int = 200_000
    @Option(help: "Rounds; the order of the subjects alternates, and the medians are reported.")
    var rounds: Int = 5
    @Option(help: "Run only these subjects, comma-separated: server, auth, debug-off, debug-on.")
    var only: String?

    static let allSubjects = ["server", "auth", "debug-off", "debug-on"]

    func validate() throws {
        guard calls >= 1, rounds >= 1 else { throw ValidationError("calls and rounds must be ≥ 1") }
        for s in subjects where !Self.allSubjects.contains(s) { throw ValidationError("unknown subject \(s)") }
    }

    private var subjects: [String] {
        guard let only else { return Self.allSubjects }
        return only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func run() async throws {
        print("micro-bench handler — Router.handle(Greeter.Hello) in process, \(calls) calls per subject, \(rounds) rounds")
        let group = MultiThreadedEventLoopGroup.singleton
        let plain = Router(serviceName: "greeter")
        plain.handle("Greeter.Hello") { (request: HelloRequest, _: HandlerContext) in HelloReply(message: "Hello \(request.name)") }
        let secured = try await AuthBenchServer.router()
        let exporter = PrometheusExporter()
        let debugOff = try DebugServices.make(ServiceOptions(debug: nil), group: group)
        let debugOn = try DebugServices.make(ServiceOptions(metricsFactory: exporter.factory), group: group)
        let routers: [String: Router] = ["server": plain, "auth": secured.router, "debug-off": debugOff.router, "debug-on": debugOn.router]
        // What the HTTP transport makes of micro-bench rpc's requests: the Authorization header is the only metadata.
        let request = RPCRequest(service: "greeter", endpoint: "Greeter.Hello", metadata: ["authorization": secured.authorization],
                                 id: "bench-1", body: ByteBuffer(string: #"{"name":"world"}"#))

        var nanos: [String: [Double]] = [:]
        var cpu: [String: [Double]] = [:]
        let subjects = self.subjects
        print("load average \(loadAverage())")
        for round in 1...rounds {
            for subject in round % 2 == 1 ? subjects : subjects.reversed() {
                guard let router = routers[subject] else { continue }
                let start = nowNanos()
                let startCPU = processCPUNanos()
                for _ in 0..<calls {
                    guard case .success = await router.handle(request) else { throw BenchError("\(subject): Greeter.Hello failed") }
                }
                let perCall = Double(nowNanos() - start) / Double(calls)
                let cpuPerCall = Double(processCPUNanos() - startCPU) / Double(calls)
                nanos[subject, default: []].append(perCall)
                cpu[subject, default: []].append(cpuPerCall)
                print("  round \(round)  " + Table.pad(subject, 12, left: true) + Table.pad(Table.fmt(perCall, 0), 8) + " ns per call,"
                      + Table.pad(Table.fmt(cpuPerCall, 0), 8) + " ns CPU")
            }
        }
        print("")
        var medians: [String: Double] = [:]
        var cpuMedians: [String: Double] = [:]
        for subject in subjects {
            var figures = RoundRatios()
            for v in nanos[subject] ?? [] { figures.append(v) }
            var cpuFigures = RoundRatios()
            for v in cpu[subject] ?? [] { cpuFigures.append(v) }
            medians[subject] = figures.median
            cpuMedians[subject] = cpuFigures.median
            let time = Table.pad(Table.fmt(figures.median, 0), 8) + " ns per call (median; " + Table.fmt(figures.min, 0) + "–" + Table.fmt(figures.max, 0) + "),"
            let work = Table.pad(Table.fmt(cpuFigures.median, 0), 8) + " ns CPU (" + Table.fmt(cpuFigures.min, 0) + "–" + Table.fmt(cpuFigures.max, 0) + ")"
            print(Table.pad(subject, 12, left: true) + time + work)
        }
        for (name, off, on) in [("debug buffers + Prometheus", "debug-off", "debug-on"), ("auth", "server", "auth")] {
            guard let offTime = medians[off], let onTime = medians[on], let offCPU = cpuMedians[off], let onCPU = cpuMedians[on] else { continue }
            print("\(name) add \(Table.fmt(onTime - offTime, 0)) ns per call (on / off time \(Table.fmt(onTime / offTime, 3))), "
                  + "\(Table.fmt(onCPU - offCPU, 0)) ns CPU (on / off \(Table.fmt(onCPU / offCPU, 3)))")
        }
        print("load average \(loadAverage())")
    }

    /// User + system CPU time of the process so far: the loop's work whatever else the machine runs (nothing
    /// else in the process is busy meanwhile).
    private func processCPUNanos() -> UInt64 {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let micros = (Int64(usage.ru_utime.tv_sec) + Int64(usage.ru_stime.tv_sec)) * 1_000_000
            + Int64(usage.ru_utime.tv_usec) + Int64(usage.ru_stime.tv_usec)
        return UInt64(max(0, micros)) * 1000
    }
}
