import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Micro
import MicroGRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

struct GRPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc",
        abstract: "helloworld.Greeter over MicroGRPC (a Router behind GRPCServerTransport) vs. a raw grpc-swift-2 greeter server: unary SayHello and bidi-streaming ping-pong.")

    @OptionGroup var options: CommonOptions
    @Option(help: "Run only these subjects, comma-separated: raw, micro, client (the Micro client against the MicroGRPC server).")
    var only: String?
    @Option(help: "Run only these patterns, comma-separated: unary, stream.")
    var patterns: String = "unary,stream"
    @Option(help: "Unary calls carry this deadline (grpc-timeout), in seconds; 0: none.")
    var deadline: Double = 0

    func validate() throws {
        for s in subjects where !["raw", "micro", "client"].contains(s) { throw ValidationError("unknown subject \(s)") }
        for p in patternSet where !["unary", "stream"].contains(p) { throw ValidationError("unknown pattern \(p)") }
    }

    private var subjects: Set<String> {
        guard let only else { return ["raw", "micro", "client"] }
        return Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    private var patternSet: Set<String> { Set(patterns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }

    func run() async throws {
        let o = options
        o.banner("micro-bench grpc — helloworld.Greeter, HelloRequest{name:\"world\"} → HelloReply{message:\"Hello world\"}, " +
                 "h2c, \(o.concurrency) connections × 1 caller (grpc-swift-2 clients)" + (deadline > 0 ? ", unary deadline \(deadline) s" : ""))
        let serverGroup = o.serverGroup as? MultiThreadedEventLoopGroup ?? .singleton

        // (a) the baseline: grpc-swift-2's own server with the generated service.
        let rawTransport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext,
                                                      eventLoopGroup: serverGroup)
        let rawServer = GRPCServer(transport: rawTransport, services: [RawGreeter()])
        let rawServing = Task { try await rawServer.serve() }
        let rawPort = try await rawTransport.listeningAddress.ipv4?.port ?? 0

        // (b) the framework: the same methods registered protobuf-first on a Router.
        let router = Router(serviceName: "greeter")
        router.handle(Helloworld_Greeter.Method.SayHello.descriptor) { (request: Helloworld_HelloRequest, _: HandlerContext) in
            var reply = Helloworld_HelloReply()
            reply.message = "Hello \(request.name)"
            return reply
        }
        router.handleBidiStream(Helloworld_Greeter.Method.SayHelloBidiStream.descriptor) {
            (requests: RequestStream<Helloworld_HelloRequest>, replies: ServerStream<Helloworld_HelloReply>, _: HandlerContext) in
            for try await request in requests {
                var reply = Helloworld_HelloReply()
                reply.message = "Hello \(request.name)"
                try await replies.send(reply)
            }
        }
        var serverConfiguration = GRPCServerConfiguration()
        serverConfiguration.eventLoopGroup = serverGroup
        let listener = try await GRPCServerTransport(configuration: serverConfiguration).listen(on: "127.0.0.1:0", handler: router)
        let microServing = Task { try? await listener.run() }
        let microPort = Int(listener.address.split(separator: ":").last ?? "0") ?? 0

        // (c) Micro's client, finding the MicroGRPC server through a registry.
        let registry = MemoryRegistry()
        try await registry.register(ServiceRecord(name: "greeter", nodes: [
            Node(id: "greeter-bench", address: listener.address, metadata: ["protocol": "grpc"]),
        ]), ttl: nil)
        let generatorGroup = MultiThreadedEventLoopGroup(numberOfThreads: o.generatorThreads)
        let microClient = Client(registry: registry,
                                 transports: [GRPCClientTransport(configuration: GRPCClientConfiguration(eventLoopGroup: generatorGroup))],
                                 broker: MemoryBroker(), defaults: CallOptions(contentType: "application/protobuf"))

        let request = Helloworld_HelloRequest.with { $0.name = "world" }
        let subjects = self.subjects
        for pattern in ["unary", "stream"] where patternSet.contains(pattern) {
            print(pattern == "unary" ? "unary SayHello (req/s):" : "bidi SayHelloBidiStream ping-pong, one message each way per round trip (msgs/s):")
            var runs: [String: [RunResult]] = [:]
            printHeader()
            for round in 1...o.rounds {
                for (subject, port) in [("raw", rawPort), ("micro", microPort)] where subjects.contains(subject) {
                    let label = subject == "raw" ? "raw-grpc-swift-\(pattern)" : "micro-grpc-\(pattern)"
                    let r = try await GRPCLoad.run(label: label, port: port, pattern: pattern, request: request, options: o, group: generatorGroup,
                                                   deadline: deadline)
                    report(round: round, r)
                    if r.errors == 0, let cpu = r.sample { print(Table.pad("", 13) + cpu) }
                    runs[subject, default: []].append(r)
                }
                if subjects.contains("client") {
                    let r: RunResult
                    if pattern == "unary" {
                        r = await runTasks(label: "micro-client-to-micro-grpc-unary", concurrency: o.concurrency, warmup: o.warmup, seconds: o.seconds) {
                            let reply: Helloworld_HelloReply = try await microClient.call("greeter", "Greeter.SayHello", request)
                            if reply.message != "Hello world" { throw BenchError("unexpected reply \(reply.message)") }
                        }
                    } else {
                        r = try await GRPCLoad.microClientPingPong(client: microClient, request: request, options: o)
                    }
                    report(round: round, r)
                    runs["client", default: []].append(r)
                }
            }
            print("")
            print("best of \(o.rounds):")
            printHeader()
            let best = runs.mapValues { RunResult.best($0) }
            for subject in ["raw", "micro", "client"] {
                if let b = best[subject] ?? nil { print(Table.pad("", 11) + Table.rateRow(b)) }
            }
            if let raw = best["raw"] ?? nil, let micro = best["micro"] ?? nil {
                print(Table.ratioRow("micro-grpc / raw-grpc-swift (\(pattern))", micro.requestsPerSecond / raw.requestsPerSecond, target: 0.95))
            }
            print("")
        }

        await microClient.shutdown()
        await listener.shutdown(gracePeriod: .seconds(1))
        await microServing.value
        rawServer.beginGracefulShutdown()
        _ = await rawServing.result
        try await generatorGroup.shutdownGracefully()
    }
}

/// The raw grpc-swift-2 greeter: the generated service protocol, nothing else.
struct RawGreeter: Helloworld_Greeter.SimpleServiceProtocol {
    func sayHello(request: Helloworld_HelloRequest, context: ServerContext) async throws -> Helloworld_HelloReply {
        var reply = Helloworld_HelloReply()
        reply.message = "Hello \(request.name)"
        return reply
    }

    func sayHelloStreamReply(request: Helloworld_HelloRequest, response: RPCWriter<Helloworld_HelloReply>, context: ServerContext) async throws {
        var reply = Helloworld_HelloReply()
        reply.message = "Hello \(request.name)"
        try await response.write(reply)
    }

    func sayHelloClientStream(request: RPCAsyncSequence<Helloworld_HelloRequest, any Error>, context: ServerContext) async throws -> Helloworld_HelloReply {
        var names: [String] = []
        for try await r in request { names.append(r.name) }
        var reply = Helloworld_HelloReply()
        reply.message = "Hello \(names.joined(separator: ", "))"
        return reply
    }

    func sayHelloBidiStream(request: RPCAsyncSequence<Helloworld_HelloRequest, any Error>, response: RPCWriter<Helloworld_HelloReply>,
                            context: ServerContext) async throws {
        for try await r in request {
            var reply = Helloworld_HelloReply()
            reply.message = "Hello \(r.name)"
            try await response.write(reply)
        }
    }
}

/// The load: `concurrency` grpc-swift-2 clients, one connection and one closed-loop caller each.
enum GRPCLoad {
    static func run(label: String, port: Int, pattern: String, request: Helloworld_HelloRequest, options o: CommonOptions,
                    group: MultiThreadedEventLoopGroup, deadline: Double = 0) async throws -> RunResult {
        let callOptions: GRPCCore.CallOptions = {
            var options = GRPCCore.CallOptions.defaults
            if deadline > 0 { options.timeout = .milliseconds(Int64(deadline * 1000)) }
            return options
        }()
        let recordFrom = nowNanos() + UInt64(o.warmup * 1e9)
        let recordUntil = recordFrom + UInt64(o.seconds * 1e9)
        struct PerCaller: Sendable { var latencies: [UInt64] = []; var errors = 0; var firstError: String?; var total = 0 }
        let cpuBefore = processCPUMicros()
        let parts = try await withThrowingTaskGroup(of: PerCaller.self) { group_ in
            for _ in 0..<o.concurrency {
                group_.addTask {
                    let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
                                                                   eventLoopGroup: group)
                    return try await withGRPCClient(transport: transport) { client in
                        let greeter = Helloworld_Greeter.Client(wrapping: client)
                        var mine = PerCaller()
                        mine.latencies.reserveCapacity(1 << 16)
                        if pattern == "unary" {
                            while true {
                                let t0 = nowNanos()
                                if t0 >= recordUntil { break }
                                do {
                                    let reply = try await greeter.sayHello(request, options: callOptions)
                                    if reply.message != "Hello world" { throw BenchError("unexpected reply \(reply.message)") }
                                    mine.total += 1
                                    let t1 = nowNanos()
                                    if t0 >= recordFrom && t1 <= recordUntil { mine.latencies.append(t1 - t0) }
                                } catch {
                                    if t0 >= recordFrom { mine.errors += 1 }
                                    if mine.firstError == nil { mine.firstError = "\(error)" }
                                }
                            }
                        } else {
                            (mine.latencies, mine.total) = try await pingPong(greeter, request: request, from: recordFrom, until: recordUntil)
                        }
                        return mine
                    }
                }
            }
            var all: [PerCaller] = []
            for try await p in group_ { all.append(p) }
            return all
        }
        let cpu = processCPUMicros() - cpuBefore
        var result = RunResult(label: label, seconds: o.seconds, completed: 0, errors: 0, latencies: [])
        var total = 0
        for p in parts {
            result.completed += p.latencies.count
            result.errors += p.errors
            result.latencies += p.latencies
            total += p.total
            if result.sample == nil, let e = p.firstError { result.sample = "error: \(e)" }
        }
        result.sample = "cpu \(total > 0 ? cpu / total : 0) µs per call (client and server, this process), \(total) calls"
        return result
    }

    /// User and system CPU time of this process, in microseconds.
    static func processCPUMicros() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return (Int(usage.ru_utime.tv_sec) + Int(usage.ru_stime.tv_sec)) * 1_000_000 + Int(usage.ru_utime.tv_usec) + Int(usage.ru_stime.tv_usec)
    }

    /// One bidi stream: send a request, wait for its reply, again, until the window ends.
    static func pingPong(_ greeter: Helloworld_Greeter.Client<HTTP2ClientTransport.Posix>, request: Helloworld_HelloRequest,
                         from: UInt64, until: UInt64) async throws -> ([UInt64], Int) {
        let (turns, turn) = AsyncStream<Void>.makeStream()
        turn.yield()
        return try await greeter.sayHelloBidiStream(requestProducer: { writer in
            for await _ in turns {
                if nowNanos() >= until { break }
                try await writer.write(request)
            }
        }) { response in
            var latencies: [UInt64] = []
            latencies.reserveCapacity(1 << 16)
            var total = 0
            var sent = nowNanos()
            for try await reply in response.messages {
                total += 1
                let now = nowNanos()
                if reply.message != "Hello world" { throw BenchError("unexpected reply \(reply.message)") }
                if sent >= from && now <= until { latencies.append(now - sent) }
                sent = nowNanos()
                if sent >= until { turn.finish(); break }
                turn.yield()
            }
            turn.finish()
            return (latencies, total)
        }
    }

    /// The Micro client's streams against the MicroGRPC server, ping-pong as above.
    static func microClientPingPong(client: Client, request: Helloworld_HelloRequest, options o: CommonOptions) async throws -> RunResult {
        let recordFrom = nowNanos() + UInt64(o.warmup * 1e9)
        let recordUntil = recordFrom + UInt64(o.seconds * 1e9)
        let parts = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<o.concurrency {
                group.addTask {
                    let stream = try await client.openStream("greeter", "Greeter.SayHelloBidiStream", sending: Helloworld_HelloRequest.self,
                                                             receiving: Helloworld_HelloReply.self)
                    var latencies: [UInt64] = []
                    while true {
                        let t0 = nowNanos()
                        if t0 >= recordUntil { break }
                        try await stream.send(request)
                        guard let reply = try await stream.receive(), reply.message == "Hello world" else { throw BenchError("bad reply") }
                        let t1 = nowNanos()
                        if t0 >= recordFrom && t1 <= recordUntil { latencies.append(t1 - t0) }
                    }
                    try await stream.finishSending()
                    _ = try await stream.receive()
                    return latencies
                }
            }
            var all: [[UInt64]] = []
            for try await p in group { all.append(p) }
            return all
        }
        var result = RunResult(label: "micro-client-to-micro-grpc-stream", seconds: o.seconds, completed: 0, errors: 0, latencies: [])
        for p in parts {
            result.completed += p.count
            result.latencies += p
        }
        return result
    }
}
