import ArgumentParser
import Foundation
import Micro
import MicroAddress
import MicroAuth
import MicroHTTP
import MicroPrometheus
import NIOCore
import NIOPosix

struct RPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Unary Greeter.Hello over the HTTP transport vs. a raw SwiftNIO HTTP/1.1 handler.")

    @OptionGroup var options: CommonOptions
    @Flag(help: "Skip the Client → server run.")
    var noClient = false
    @Option(help: "Run only these subjects, comma-separated: raw, server, foundation (the server with Foundation's JSON), client, client-on-loops (the same calls from tasks on the event loops, as a service's handlers make them), auth, debug-off, debug-on (a whole MicroService without and with its debug buffers and the Prometheus exporter).")
    var only: String?
    @Flag(help: "Compare the server with JWT verification and rules on (subject auth) against it off (server), same requests.")
    var auth = false

    func validate() throws {
        for s in subjects where !Self.allSubjects.contains(s) { throw ValidationError("unknown subject \(s)") }
    }

    static let allSubjects: Set<String> = ["raw", "server", "foundation", "client", "client-on-loops", "auth", "debug-off", "debug-on"]

    private var subjects: Set<String> {
        if auth && only == nil { return ["server", "auth"] }
        let all = Self.allSubjects.subtracting(["auth"])
        guard let only else { return noClient ? all.subtracting(["client", "client-on-loops"]) : all }
        return Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    func run() async throws {
        let o = options
        o.banner("micro-bench rpc — unary Greeter.Hello, {\"name\":\"world\"} → {\"message\":\"Hello world\"}, HTTP/1.1 keep-alive")

        // (a) the framework: a Router served by HTTPServerTransport.
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (request: HelloRequest, _: HandlerContext) in
            HelloReply(message: "Hello \(request.name)")
        }
        let serverGroup = o.serverGroup
        let listener = try await HTTPServerTransport(group: serverGroup).listen(on: "127.0.0.1:0", handler: router)
        let serving = Task { try? await listener.run() }
        // (c) the same server with Foundation's JSON in its codec: the JSON work exactly as the baseline does it.
        let foundationRouter = Router(serviceName: "greeter", codecs: Codecs([FoundationJSONCodec()]))
        foundationRouter.handle("Greeter.Hello") { (request: HelloRequest, _: HandlerContext) in
            HelloReply(message: "Hello \(request.name)")
        }
        let foundationListener = try await HTTPServerTransport(group: serverGroup).listen(on: "127.0.0.1:0", handler: foundationRouter)
        let foundationServing = Task { try? await foundationListener.run() }
        let foundationPort = try HostPort(parsing: foundationListener.address).port
        // (b) the baseline.
        let raw = try await RawNIOServer.start(work: .hello, group: serverGroup)
        // (d) the framework's client, finding the server through a registry.
        let registry = MemoryRegistry()
        try await registry.register(ServiceRecord(name: "greeter", nodes: [
            Node(id: "greeter-bench", address: listener.address, metadata: ["protocol": "mucp"]),
        ]), ttl: nil)
        let clientTransport = HTTPClientTransport()
        let client = Client(registry: registry, transports: [clientTransport], broker: MemoryBroker())

        // (e) the framework with auth on: a JWT (EdDSA) verified on every call (cached by signature) and
        // the rules applied; the other subjects get the same Authorization header and ignore it.
        let secured = try await AuthBenchServer.start(group: serverGroup)
        let authorization = secured.authorization
        // (f) whole services, both with the tracing and metrics wrappers: without debug buffers and with
        // them plus the Prometheus exporter recording every call.
        let exporter = PrometheusExporter()
        let debugOff = try await DebugServices.start(ServiceOptions(debug: nil), group: serverGroup)
        let debugOn = try await DebugServices.start(ServiceOptions(metricsFactory: exporter.factory), group: serverGroup)
        exporter.serve(on: debugOn.service.router)

        let generatorGroup = MultiThreadedEventLoopGroup(numberOfThreads: o.generatorThreads)
        let microPort = try HostPort(parsing: listener.address).port
        let body = Array(#"{"name":"world"}"#.utf8)
        func generator(port: Int) -> LoadGenerator {
            LoadGenerator(host: "127.0.0.1", port: port,
                          request: LoadGenerator.encode(host: "127.0.0.1", headers: [
                              ("Content-Type", "application/json"),
                              ("Micro-Endpoint", "Greeter.Hello"),
                              ("Micro-Service", "greeter"),
                              ("Micro-Id", "bench-1"),
                              ("Authorization", authorization),
                          ], body: body),
                          connections: o.concurrency, group: generatorGroup)
        }

        var rawRuns: [RunResult] = []
        var foundationRuns: [RunResult] = []
        var clientRuns: [RunResult] = []
        var loopClientRuns: [RunResult] = []
        var clientRatios = RoundRatios()
        var loopClientRatios = RoundRatios()
        // Tasks that run on the servers' event loops, as a service's handlers (and the gateway's connections) do.
        let loopExecutors: [any TaskExecutor] = Array(serverGroup.makeIterator()).map { EventLoopTaskExecutor.of($0) }
        // The servers with auth off and on, and the services with debug off and on, each pair run side by side.
        var authPair = PairedRuns()
        var debugPair = PairedRuns()
        // The paired subjects' servers' CPU per call: every thread of this process but the load generator's.
        let serverCPU = try await ThreadCPU.excluding(generatorGroup)
        printHeader()
        let subjects = self.subjects
        for round in 1...o.rounds {
            if subjects.contains("raw") {
                let r = try await generator(port: raw.port).run(label: "raw-nio", warmup: o.warmup, seconds: o.seconds)
                report(round: round, r)
                rawRuns.append(r)
            }
            try await authPair.measure(
                round: round,
                baseline: !subjects.contains("server") ? nil : {
                    try await generator(port: microPort).run(label: "micro-server", warmup: o.warmup, seconds: o.seconds, cpu: serverCPU)
                },
                subject: !subjects.contains("auth") ? nil : {
                    try await generator(port: secured.port).run(label: "micro-server-auth", warmup: o.warmup, seconds: o.seconds, cpu: serverCPU)
                })
            if subjects.contains("foundation") {
                let f = try await generator(port: foundationPort).run(label: "micro-server-foundation-json", warmup: o.warmup, seconds: o.seconds)
                report(round: round, f)
                foundationRuns.append(f)
            }
            try await debugPair.measure(
                round: round,
                baseline: !subjects.contains("debug-off") ? nil : {
                    try await generator(port: debugOff.port).run(label: "service-debug-off", warmup: o.warmup, seconds: o.seconds, cpu: serverCPU)
                },
                subject: !subjects.contains("debug-on") ? nil : {
                    try await generator(port: debugOn.port)
                        .run(label: "service-debug-prometheus-on", warmup: o.warmup, seconds: o.seconds, cpu: serverCPU)
                })
            if subjects.contains("client") {
                let c = await runTasks(label: "micro-client-to-micro-server", concurrency: o.concurrency, warmup: o.warmup, seconds: o.seconds) {
                    let reply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "world"), as: HelloReply.self)
                    if reply.message != "Hello world" { throw BenchError("unexpected reply \(reply.message)") }
                }
                report(round: round, c)
                clientRuns.append(c)
                if let r = rawRuns.last, rawRuns.count == round, r.requestsPerSecond > 0 { clientRatios.append(c.requestsPerSecond / r.requestsPerSecond) }
            }
            if subjects.contains("client-on-loops") {
                let c = await runTasks(label: "micro-client-on-loops-to-server", concurrency: o.concurrency, warmup: o.warmup, seconds: o.seconds,
                                       executors: loopExecutors) {
                    let reply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "world"), as: HelloReply.self)
                    if reply.message != "Hello world" { throw BenchError("unexpected reply \(reply.message)") }
                }
                report(round: round, c)
                loopClientRuns.append(c)
                if let r = rawRuns.last, rawRuns.count == round, r.requestsPerSecond > 0 { loopClientRatios.append(c.requestsPerSecond / r.requestsPerSecond) }
            }
        }
        if let sample = rawRuns.first?.sample { print("  raw-nio answered:      \(sample)") }
        if let sample = authPair.baseline.first?.sample { print("  micro-server answered: \(sample)") }
        if let sample = authPair.subject.first?.sample { print("  micro-server-auth answered: \(sample)") }

        print("")
        print("best of \(o.rounds):")
        printHeader()
        let bestRaw = RunResult.best(rawRuns)
        let bestServer = RunResult.best(authPair.baseline)
        let bestFoundation = RunResult.best(foundationRuns)
        let bestClient = RunResult.best(clientRuns)
        let bestLoopClient = RunResult.best(loopClientRuns)
        let bestAuth = RunResult.best(authPair.subject)
        let bestOff = RunResult.best(debugPair.baseline)
        let bestOn = RunResult.best(debugPair.subject)
        for best in [bestRaw, bestServer, bestFoundation, bestClient, bestLoopClient, bestAuth, bestOff, bestOn] {
            if let best { print(Table.pad("", 11) + Table.rateRow(best)) }
        }
        print("")
        if let bestRaw, let bestServer {
            print(Table.ratioRow("micro-server / raw-nio", bestServer.requestsPerSecond / bestRaw.requestsPerSecond, target: o.target))
        }
        if let bestRaw, let bestFoundation {
            print(Table.ratioRow("  with Foundation's JSON, as the baseline", bestFoundation.requestsPerSecond / bestRaw.requestsPerSecond, target: o.target))
        }
        if let bestRaw, let bestClient {
            print(Table.ratioRow("micro-client-to-micro-server / raw-nio", bestClient.requestsPerSecond / bestRaw.requestsPerSecond, target: o.target))
            print("  per round: " + clientRatios.values.map { Table.fmt($0, 3) }.joined(separator: " ") + "  → " + clientRatios.summary)
        }
        if let bestRaw, let bestLoopClient {
            print(Table.ratioRow("  callers on the event loops / raw-nio", bestLoopClient.requestsPerSecond / bestRaw.requestsPerSecond, target: o.target))
            print("  per round: " + loopClientRatios.values.map { Table.fmt($0, 3) }.joined(separator: " ") + "  → " + loopClientRatios.summary)
        }

        for line in authPair.summary("micro-server-auth / micro-server (verification on / off)", target: 0.9) { print(line) }
        if bestOff != nil, bestOn != nil {
            for line in debugPair.summary("debug buffers + Prometheus on / off", target: 0.95) { print(line) }
            let page = String(buffer: exporter.page())
            let counted = page.split(separator: "\n").first { $0.hasPrefix("micro_server_requests_total{service=\"greeter\",endpoint=\"Greeter.Hello\"") }
            print("  prometheus: \(counted ?? "no Greeter.Hello counter"); debug buffer: \(debugOn.service.debug?.spans.count ?? 0) spans")
        }

        print("load average at the end: \(loadAverage())")
        await debugOff.stop()
        await debugOn.stop()
        await client.shutdown()
        await secured.shutdown()
        await raw.shutdown()
        await listener.shutdown(gracePeriod: .seconds(1))
        await serving.value
        await foundationListener.shutdown(gracePeriod: .seconds(1))
        await foundationServing.value
        try await generatorGroup.shutdownGracefully()
    }
}

/// A greeter `MicroService` on a memory registry and the bench's server event loops, run until stopped.
struct DebugServices {
    let service: MicroService
    let port: Int
    let task: Task<Void, Never>

    static func start(_ options: ServiceOptions, group: any EventLoopGroup) async throws -> DebugServices {
        let service = try make(options, group: group)
        let task = Task { _ = try? await service.run() }
        for _ in 0..<500 where service.address == nil { try await Task.sleep(for: .milliseconds(10)) }
        guard let address = service.address else { throw BenchError("the service did not start") }
        return DebugServices(service: service, port: try HostPort(parsing: address).port, task: task)
    }

    /// The greeter service, not yet running.
    static func make(_ options: ServiceOptions, group: any EventLoopGroup) throws -> MicroService {
        var options = options
        options.address = "127.0.0.1:0"
        let service = try MicroService(name: "greeter", options: options, registry: MemoryRegistry(), broker: MemoryBroker(),
                                       store: MemoryStore(), transport: (HTTPClientTransport(), HTTPServerTransport(group: group)))
        service.handle("Greeter.Hello") { (request: HelloRequest, _: HandlerContext) in HelloReply(message: "Hello \(request.name)") }
        return service
    }

    func stop() async {
        service.stop()
        await task.value
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
