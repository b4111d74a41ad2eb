import ArgumentParser
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
        let subjects = self.subjects
        for round in 1...rounds {
            for subject in round % 2 == 1 ? subjects : subjects.reversed() {
                guard let router = routers[subject] else { continue }
                let start = nowNanos()
                for _ in 0..<calls {
                    guard case .success = await router.handle(request) else { throw BenchError("\(subject): Greeter.Hello failed") }
                }
                let perCall = Double(nowNanos() - start) / Double(calls)
                nanos[subject, default: []].append(perCall)
                print("  round \(round)  " + Table.pad(subject, 12, left: true) + Table.pad(Table.fmt(perCall, 0), 8) + " ns per call")
            }
        }
        print("")
        var medians: [String: Double] = [:]
        for subject in subjects {
            var figures = RoundRatios()
            for v in nanos[subject] ?? [] { figures.append(v) }
            medians[subject] = figures.median
            print(Table.pad(subject, 12, left: true) + Table.pad(Table.fmt(figures.median, 0), 8) + " ns per call (median; "
                  + Table.fmt(figures.min, 0) + "–" + Table.fmt(figures.max, 0) + ")")
        }
        if let off = medians["debug-off"], let on = medians["debug-on"] {
            print("debug buffers + Prometheus add \(Table.fmt(on - off, 0)) ns per call (on / off time \(Table.fmt(on / off, 3)))")
        }
        if let off = medians["server"], let on = medians["auth"] {
            print("auth adds \(Table.fmt(on - off, 0)) ns per call (on / off time \(Table.fmt(on / off, 3)))")
        }
    }
}
