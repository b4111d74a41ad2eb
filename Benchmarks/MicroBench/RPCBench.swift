import ArgumentParser
import Foundation
import Micro
import MicroAddress
import MicroAuth
import NIOCore
import NIOPosix

struct RPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Unary Greeter.Hello over the HTTP transport vs. a raw SwiftNIO HTTP/1.1 handler.")

    @OptionGroup var options: CommonOptions
    @Flag(help: "Skip the Client → server run.")
    var noClient = false
    @Option(help: "Run only these subjects, comma-separated: raw, server, foundation (the server with Foundation's JSON), client, auth.")
    var only: String?
    @Flag(help: "Compare the server with JWT verification and rules on (subject auth) against it off (server), same requests.")
    var auth = false

    func validate() throws {
        for s in subjects where !["raw", "server", "foundation", "client", "auth"].contains(s) { throw ValidationError("unknown subject \(s)") }
    }

    private var subjects: Set<String> {
        if auth && only == nil { return ["server", "auth"] }
        guard let only else { return noClient ? ["raw", "server", "foundation"] : ["raw", "server", "foundation", "client"] }
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
        var serverRuns: [RunResult] = []
        var foundationRuns: [RunResult] = []
        var clientRuns: [RunResult] = []
        var authRuns: [RunResult] = []
        printHeader()
        let subjects = self.subjects
        for round in 1...o.rounds {
            if subjects.contains("raw") {
                let r = try await generator(port: raw.port).run(label: "raw-nio", warmup: o.warmup, seconds: o.seconds)
                report(round: round, r)
                rawRuns.append(r)
            }
            if subjects.contains("server") {
                let m = try await generator(port: microPort).run(label: "micro-server", warmup: o.warmup, seconds: o.seconds)
                report(round: round, m)
                serverRuns.append(m)
            }
            if subjects.contains("auth") {
                let a = try await generator(port: secured.port).run(label: "micro-server-auth", warmup: o.warmup, seconds: o.seconds)
                report(round: round, a)
                authRuns.append(a)
            }
            if subjects.contains("foundation") {
                let f = try await generator(port: foundationPort).run(label: "micro-server-foundation-json", warmup: o.warmup, seconds: o.seconds)
                report(round: round, f)
                foundationRuns.append(f)
            }
            if subjects.contains("client") {
                let c = await runTasks(label: "micro-client-to-micro-server", concurrency: o.concurrency, warmup: o.warmup, seconds: o.seconds) {
                    let reply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "world"), as: HelloReply.self)
                    if reply.message != "Hello world" { throw BenchError("unexpected reply \(reply.message)") }
                }
                report(round: round, c)
                clientRuns.append(c)
            }
        }
        if let sample = rawRuns.first?.sample { print("  raw-nio answered:      \(sample)") }
        if let sample = serverRuns.first?.sample { print("  micro-server answered: \(sample)") }
        if let sample = authRuns.first?.sample { print("  micro-server-auth answered: \(sample)") }

        print("")
        print("best of \(o.rounds):")
        printHeader()
        let bestRaw = RunResult.best(rawRuns)
        let bestServer = RunResult.best(serverRuns)
        let bestFoundation = RunResult.best(foundationRuns)
        let bestClient = RunResult.best(clientRuns)
        let bestAuth = RunResult.best(authRuns)
        for best in [bestRaw, bestServer, bestFoundation, bestClient, bestAuth] {
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
        }

        if let bestServer, let bestAuth {
            print(Table.ratioRow("micro-server-auth / micro-server (verification on / off)", bestAuth.requestsPerSecond / bestServer.requestsPerSecond,
                                 target: 0.9))
        }

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

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
