import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import MicroCore
import MicroGRPC
import MicroTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Every gRPC suite runs inside this one, one test at a time: many bound timings (deadlines,
/// cancellation, floods) that two shared cores cannot keep with parallel network tests.
@Suite(.serialized) enum GRPCTransportSuite {}

struct Hello: Codable, Sendable, Equatable { var name: String }
struct Reply: Codable, Sendable, Equatable { var message: String }
struct Count: Codable, Sendable { var from: Int }
struct Tick: Codable, Sendable, Equatable { var n: Int }

/// A router with Codable test endpoints, the protobuf-first helloworld Greeter and gRPC's interop
/// TestService, served by GRPCServerTransport on 127.0.0.1.
struct GRPCTestServer {
    let router: Router
    let listener: any TransportListener
    let task: Task<Void, Never>
    var address: String { listener.address }
    var port: Int { Int(address.split(separator: ":").last!)! }

    static var logger: Logger {
        var logger = Logger(label: "test.grpc")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .trace
        return logger
    }

    static func start(name: String = "greeter", configuration: GRPCServerConfiguration = GRPCServerConfiguration(),
                      setup: (Router) -> Void = { _ in }) async throws -> GRPCTestServer {
        let router = Router(serviceName: name, logger: logger)
        router.handle("Test.Hello") { (req: Hello, _) in
            guard !req.name.isEmpty else { throw MicroError.badRequest("greeter", "name is required") }
            return Reply(message: "Hello \(req.name)")
        }
        router.handle("Test.Countdown") { (req: Count, stream: ServerStream<Tick>, _) in
            for n in (0..<req.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        router.handleBidiStream("Test.Echo") { (requests: RequestStream<Hello>, replies: ServerStream<Reply>, _) in
            for try await r in requests { try await replies.send(Reply(message: r.name)) }
        }
        router.handleClientStream("Test.Sum") { (requests: RequestStream<Tick>, _) -> Tick in
            var total = 0
            for try await t in requests { total += t.n }
            return Tick(n: total)
        }
        registerGreeter(on: router)
        InteropTestService().register(on: router)
        setup(router)
        var configuration = configuration
        configuration.descriptorSets.append(InteropTestService.descriptorSet)
        let transport = GRPCServerTransport(configuration: configuration, logger: logger)
        let listener = try await transport.listen(on: "127.0.0.1:0", handler: router)
        let task = Task { _ = try? await listener.run() }
        return GRPCTestServer(router: router, listener: listener, task: task)
    }

    func stop(gracePeriod: Duration = .seconds(1)) async {
        await listener.shutdown(gracePeriod: gracePeriod)
        await task.value
    }
}

/// The helloworld Greeter, protobuf-first: every kind of method.
func registerGreeter(on router: Router) {
    router.handle(Helloworld_Greeter.Method.SayHello.descriptor) { (request: Helloworld_HelloRequest, _) in
        if request.name == "fail" { throw RPCError(code: .failedPrecondition, message: "no greeting for fail") }
        if request.name.isEmpty { throw MicroError.badRequest("greeter", "name is required") }
        var reply = Helloworld_HelloReply()
        reply.message = "Hello \(request.name)"
        return reply
    }
    router.handle(Helloworld_Greeter.Method.SayHelloStreamReply.descriptor) {
        (request: Helloworld_HelloRequest, stream: ServerStream<Helloworld_HelloReply>, _) in
        for i in 0..<3 {
            var reply = Helloworld_HelloReply()
            reply.message = "Hello \(request.name) #\(i)"
            try await stream.send(reply)
        }
    }
    router.handleClientStream(Helloworld_Greeter.Method.SayHelloClientStream.descriptor) {
        (requests: RequestStream<Helloworld_HelloRequest>, _) -> Helloworld_HelloReply in
        var names: [String] = []
        for try await r in requests { names.append(r.name) }
        var reply = Helloworld_HelloReply()
        reply.message = "Hello \(names.joined(separator: ", "))"
        return reply
    }
    router.handleBidiStream(Helloworld_Greeter.Method.SayHelloBidiStream.descriptor) {
        (requests: RequestStream<Helloworld_HelloRequest>, replies: ServerStream<Helloworld_HelloReply>, _) in
        for try await r in requests {
            var reply = Helloworld_HelloReply()
            reply.message = "Hello \(r.name)"
            try await replies.send(reply)
        }
    }
}

func hello(_ name: String) -> Helloworld_HelloRequest {
    var r = Helloworld_HelloRequest()
    r.name = name
    return r
}

/// A Micro client whose registry holds the given gRPC nodes under `service`.
func microClient(_ service: String = "greeter", addresses: [String], contentType: String = "application/json",
                 configuration: GRPCClientConfiguration = GRPCClientConfiguration(), transport: (any MicroCore.ClientTransport)? = nil,
                 retries: Int = 1, timeout: Duration = .seconds(5)) async throws -> Client {
    let registry = MemoryRegistry()
    let nodes = addresses.enumerated().map { i, a in Node(id: "\(service)-\(i)", address: a, metadata: ["protocol": "grpc"]) }
    try await registry.register(ServiceRecord(name: service, nodes: nodes))
    var defaults = CallOptions(timeout: timeout, retries: retries, contentType: contentType)
    defaults.backoff = { _ in .zero }
    return Client(registry: registry, transports: [transport ?? GRPCClientTransport(configuration: configuration)], broker: MemoryBroker(), defaults: defaults,
                  codecs: .withGRPCContentTypes)
}

/// Runs `body` with a native grpc-swift-2 client connected to `address` (plaintext unless given).
func withNativeClient<T: Sendable>(_ address: String,
                                   security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
                                   _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
    let port = Int(address.split(separator: ":").last!)!
    let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security)
    return try await withGRPCClient(transport: transport) { client in try await body(client) }
}

/// A value shared between a handler and the test, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>
    init(_ value: Value) { box = NIOLockedValueBox(value) }
    var value: Value { box.withLockedValue { $0 } }
    @discardableResult
    func update<R: Sendable>(_ body: @Sendable (inout Value) -> R) -> R { box.withLockedValue(body) }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
func eventually(within timeout: Duration = .seconds(3), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}

/// The error `body` throws (nil if it returns).
func caught(_ body: () async throws -> Void) async -> (any Error)? {
    do { try await body(); return nil } catch { return error }
}

/// An address nothing listens on.
func deadAddress() throws -> String { "127.0.0.1:\(try freePort())" }

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

/// A JSON request for the raw transports.
func jsonRequest(_ endpoint: String, _ json: String, service: String = "greeter", deadline: NIODeadline? = .now() + .seconds(5)) -> RPCRequest {
    RPCRequest(service: service, endpoint: endpoint, deadline: deadline, body: ByteBuffer(string: json))
}
