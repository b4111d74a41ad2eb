import Foundation
import Logging
import MicroCore
import MicroTestSupport
import NIOCore
import SwiftProtobuf
import Testing

struct HelloRequest: Codable, Sendable, Equatable { var name: String }
struct HelloReply: Codable, Sendable, Equatable { var message: String }
struct CountRequest: Codable, Sendable { var from: Int }
struct Tick: Codable, Sendable, Equatable { var n: Int }
struct Sum: Codable, Sendable, Equatable { var total: Int }

func request(_ endpoint: String, _ body: String, contentType: String = "application/json", metadata: Metadata = Metadata()) -> RPCRequest {
    RPCRequest(service: "greeter", endpoint: endpoint, contentType: contentType, metadata: metadata, id: "req-1", body: ByteBuffer(string: body))
}

/// An inbound stream fed from a fixed list, and an outbound one that collects.
final class StreamPipes: Sendable {
    let inbound: [ByteBuffer]
    let position = Locked(0)
    let written = Locked<[ByteBuffer]>([])

    init(_ messages: [String]) { inbound = messages.map { ByteBuffer(string: $0) } }

    var reader: MessageReader {
        MessageReader { [self] in
            position.withLock { p -> ByteBuffer? in
                guard p < inbound.count else { return nil }
                defer { p += 1 }
                return inbound[p]
            }
        }
    }
    var writer: MessageWriter { MessageWriter { [written] b in written.withLock { $0.append(b) } } }
    var output: [String] { written.value.map { String(buffer: $0) } }
}

struct Boom: Error, CustomStringConvertible { var description: String { "kaboom" } }

/// Records the order wrappers run in.
struct Recorder: HandlerWrapper {
    let name: String
    let log: Locked<[String]>
    func handle(_ request: RPCRequest, context: HandlerContext,
                next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse) async throws -> RPCResponse {
        log.withLock { $0.append("\(name)>") }
        var ctx = context
        ctx.metadata["x-wrapped-by"] = (ctx.metadata["x-wrapped-by"].map { $0 + "," } ?? "") + name
        let r = try await next(request, ctx)
        log.withLock { $0.append("<\(name)") }
        return r
    }
}

struct Gate: HandlerWrapper {
    func handle(_ request: RPCRequest, context: HandlerContext,
                next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse) async throws -> RPCResponse {
        guard context.metadata["authorization"] == "Bearer ok" else { throw MicroError.unauthorized(context.service, "no token") }
        return try await next(request, context)
    }
}

@Suite struct RouterTests {
    func greeter() -> Router {
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (req: HelloRequest, _: HandlerContext) in HelloReply(message: "Hello \(req.name)") }
        return router
    }

    @Test func unaryDispatch() async throws {
        let router = greeter()
        let response = try await router.handle(request("Greeter.Hello", #"{"name":"Alice"}"#)).get()
        #expect(response.contentType == "application/json")
        #expect(try JSONDecoder().decode(HelloReply.self, from: Data(response.body.readableBytesView)) == HelloReply(message: "Hello Alice"))
    }

    @Test func contentTypeParametersAreAccepted() async throws {
        let response = try await greeter().handle(request("Greeter.Hello", #"{"name":"Bo"}"#, contentType: "application/json; charset=utf-8")).get()
        #expect(String(buffer: response.body) == #"{"message":"Hello Bo"}"#)
    }

    @Test func protobufEndpoint() async throws {
        let router = Router(serviceName: "echo")
        router.handle("Echo.Upper") { (req: Google_Protobuf_StringValue, _: HandlerContext) in Google_Protobuf_StringValue(req.value.uppercased()) }
        let body = try ProtobufCodec().encode(Google_Protobuf_StringValue("shout"))
        let r = await router.handle(RPCRequest(service: "echo", endpoint: "Echo.Upper", contentType: "application/protobuf", body: body))
        let response = try r.get()
        #expect(response.contentType == "application/protobuf")
        #expect(try ProtobufCodec().decode(Google_Protobuf_StringValue.self, from: response.body).value == "SHOUT")
        // The same endpoint answers JSON too.
        let viaJSON = try await router.handle(RPCRequest(service: "echo", endpoint: "Echo.Upper", body: ByteBuffer(string: #""quiet""#))).get()
        #expect(String(buffer: viaJSON.body) == #""QUIET""#)
    }

    @Test func unknownEndpointIs404NamingIt() async throws {
        let result = await greeter().handle(request("Greeter.Missing", "{}"))
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        #expect(e.code == 404)
        #expect(e.id == "greeter")
        #expect(e.detail.contains("Greeter.Missing"))
    }

    @Test func malformedBodyIs400() async throws {
        for body in [#"{"name":"#, #"{"name":42}"#, "garbage", #"{}"#] {
            guard case .failure(let e) = await greeter().handle(request("Greeter.Hello", body)) else {
                Issue.record("expected a failure for \(body)"); continue
            }
            #expect(e.code == 400, "body \(body)")
            #expect(e.status == "Bad Request")
        }
    }

    @Test func unsupportedContentTypeIs415() async throws {
        guard case .failure(let e) = await greeter().handle(request("Greeter.Hello", "<x/>", contentType: "text/xml")) else {
            Issue.record("expected a failure"); return
        }
        #expect(e.code == 415)
    }

    @Test func handlerMicroErrorPassesThrough() async throws {
        let router = Router(serviceName: "greeter")
        let thrown = MicroError(id: "auth-service", code: 403, detail: "not for you")
        router.handle("Greeter.Hello") { (_: HelloRequest, _: HandlerContext) -> HelloReply in throw thrown }
        guard case .failure(let e) = await router.handle(request("Greeter.Hello", #"{"name":"x"}"#)) else {
            Issue.record("expected a failure"); return
        }
        #expect(e == thrown)
    }

    @Test func otherHandlerErrorsBecome500() async throws {
        let router = Router(serviceName: "greeter", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        router.handle("Greeter.Hello") { (_: HelloRequest, _: HandlerContext) -> HelloReply in throw Boom() }
        guard case .failure(let e) = await router.handle(request("Greeter.Hello", #"{"name":"x"}"#)) else {
            Issue.record("expected a failure"); return
        }
        #expect(e.code == 500)
        #expect(e.id == "greeter")
        #expect(e.detail.contains("kaboom"))
    }

    @Test func debugHealthAnswersOK() async throws {
        let router = greeter()
        let response = try await router.handle(request("Debug.Health", "{}")).get()
        let object = try jsonObject(response.body)
        #expect(object.count == 1)
        #expect(object["status"] as? String == "ok")
        #expect(await router.health() == .serving)
        // With an empty body too, as go-micro's clients may send.
        #expect(String(buffer: try await router.handle(request("Debug.Health", "")).get().body) == #"{"status":"ok"}"#)

        router.setHealthCheck { .notServing }
        let draining = try await router.handle(request("Debug.Health", "{}")).get()
        #expect(try jsonObject(draining.body)["status"] as? String == "not_serving")
        #expect(await router.health() == .notServing)
        #expect(router.endpoints.contains { $0.name == "Debug.Health" })
    }

    @Test func wrappersRunOutermostFirst() async throws {
        let router = Router(serviceName: "greeter")
        let log = Locked<[String]>([])
        router.handle("Greeter.Hello") { (req: HelloRequest, ctx: HandlerContext) in
            log.withLock { $0.append("handler") }
            return HelloReply(message: ctx.metadata["x-wrapped-by"] ?? "")
        }
        router.use(Recorder(name: "a", log: log))
        router.use(Recorder(name: "b", log: log))
        router.use(Recorder(name: "c", log: log))
        let response = try await router.handle(request("Greeter.Hello", #"{"name":"x"}"#)).get()
        #expect(log.value == ["a>", "b>", "c>", "handler", "<c", "<b", "<a"])
        // Each wrapper saw the context the previous one passed on.
        #expect(String(buffer: response.body) == #"{"message":"a,b,c"}"#)
    }

    @Test func wrapperCanRejectWithoutCallingHandler() async throws {
        let router = Router(serviceName: "greeter")
        let calls = Locked(0)
        router.handle("Greeter.Hello") { (req: HelloRequest, _: HandlerContext) in
            calls.withLock { $0 += 1 }
            return HelloReply(message: req.name)
        }
        router.use(Gate())
        guard case .failure(let e) = await router.handle(request("Greeter.Hello", #"{"name":"x"}"#)) else {
            Issue.record("expected a failure"); return
        }
        #expect(e.code == 401)
        #expect(calls.value == 0)
        let ok = await router.handle(request("Greeter.Hello", #"{"name":"x"}"#, metadata: ["Authorization": "Bearer ok"]))
        #expect((try? ok.get()) != nil)
        #expect(calls.value == 1)
    }

    @Test func handlerSeesContextAndCallContext() async throws {
        let router = Router(serviceName: "greeter")
        let seen = Locked<[String]>([])
        let deadline = NIODeadline.now() + .seconds(3)
        router.handle("Greeter.Hello") { (_: HelloRequest, ctx: HandlerContext) in
            seen.withLock {
                $0 = [ctx.service, ctx.endpoint, ctx.metadata["user"] ?? "-", CallContext.current.metadata["User"] ?? "-",
                      "\(ctx.deadline == deadline)", "\(CallContext.current.deadline == deadline)"]
            }
            return HelloReply(message: "")
        }
        var req = request("Greeter.Hello", #"{"name":"x"}"#, metadata: ["User": "alice"])
        req.deadline = deadline
        _ = try await router.handle(req).get()
        #expect(seen.value == ["greeter", "Greeter.Hello", "alice", "alice", "true", "true"])
    }

    @Test func serverStreamThroughHandleStream() async throws {
        let router = Router(serviceName: "counter")
        router.handle("Counter.Down") { (req: CountRequest, stream: ServerStream<Tick>, _: HandlerContext) in
            for n in (0..<req.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        let pipes = StreamPipes([#"{"from":3}"#])
        let error = await router.handleStream(request("Counter.Down", ""), inbound: pipes.reader, outbound: pipes.writer)
        #expect(error == nil)
        #expect(pipes.output == [#"{"n":2}"#, #"{"n":1}"#, #"{"n":0}"#])
    }

    @Test func clientStreamThroughHandleStream() async throws {
        let router = Router(serviceName: "adder")
        router.handleClientStream("Adder.Sum") { (numbers: RequestStream<Tick>, _: HandlerContext) in
            var total = 0
            for try await t in numbers { total += t.n }
            return Sum(total: total)
        }
        let pipes = StreamPipes([#"{"n":1}"#, #"{"n":2}"#, #"{"n":39}"#])
        #expect(await router.handleStream(request("Adder.Sum", ""), inbound: pipes.reader, outbound: pipes.writer) == nil)
        #expect(pipes.output == [#"{"total":42}"#])
    }

    @Test func bidiStreamThroughHandleStream() async throws {
        let router = Router(serviceName: "echo")
        router.handleBidiStream("Echo.Chat") { (inbound: RequestStream<HelloRequest>, outbound: ServerStream<HelloReply>, _: HandlerContext) in
            for try await m in inbound { try await outbound.send(HelloReply(message: "echo " + m.name)) }
        }
        let pipes = StreamPipes([#"{"name":"a"}"#, #"{"name":"b"}"#])
        #expect(await router.handleStream(request("Echo.Chat", ""), inbound: pipes.reader, outbound: pipes.writer) == nil)
        #expect(pipes.output == [#"{"message":"echo a"}"#, #"{"message":"echo b"}"#])
    }

    /// A caller leaving a stream (its reader or writer fails under the handler) is normal: logged at
    /// debug. A handler's own failure, even one that looks the same, stays at error.
    @Test func aCallerLeavingAStreamIsNoError() async throws {
        let log = LogCapture()
        let router = Router(serviceName: "counter", logger: log.logger)
        let gone = TransportError(.connectionClosed, address: "", detail: "caller closed the stream")
        router.handle("Counter.Down") { (req: CountRequest, stream: ServerStream<Tick>, _: HandlerContext) in
            for n in (0..<req.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        router.handleClientStream("Adder.Sum") { (numbers: RequestStream<Tick>, _: HandlerContext) in
            var total = 0
            for try await t in numbers { total += t.n }
            return Sum(total: total)
        }
        router.handle("Counter.Broken") { (_: CountRequest, _: ServerStream<Tick>, _: HandlerContext) in throw gone }
        router.handle("Counter.Boom") { (_: CountRequest, _: ServerStream<Tick>, _: HandlerContext) in throw Boom() }

        let stoppedReading = await router.handleStream(request("Counter.Down", ""), inbound: StreamPipes([#"{"from":3}"#]).reader,
                                                       outbound: MessageWriter { _ in throw gone })
        #expect(stoppedReading?.code == 503)
        let leftWhileSending = await router.handleStream(request("Adder.Sum", ""), inbound: MessageReader { throw gone },
                                                         outbound: StreamPipes([]).writer)
        #expect(leftWhileSending?.code == 503)
        #expect(log.lines(atLeast: .info).isEmpty, "\(log.lines(atLeast: .info))")
        #expect(log.records.filter { $0.level == .debug && $0.message.contains("caller left") }.count == 2)

        for endpoint in ["Counter.Broken", "Counter.Boom"] {
            let failed = await router.handleStream(request(endpoint, ""), inbound: StreamPipes([#"{"from":1}"#]).reader,
                                                   outbound: StreamPipes([]).writer)
            #expect((failed?.code ?? 0) >= 500)
        }
        let errors = log.records.filter { $0.level == .error }
        #expect(errors.count == 2 && errors.allSatisfy { $0.message == "handler failed" }, "\(log.lines(atLeast: .debug))")
    }

    @Test func streamErrors() async throws {
        let router = Router(serviceName: "counter")
        router.handle("Counter.Down") { (req: CountRequest, stream: ServerStream<Tick>, _: HandlerContext) in
            try await stream.send(Tick(n: req.from))
            throw MicroError.conflict("counter", "stop here")
        }
        let pipes = StreamPipes([#"{"from":9}"#])
        let failed = await router.handleStream(request("Counter.Down", ""), inbound: pipes.reader, outbound: pipes.writer)
        #expect(failed?.code == 409)
        #expect(pipes.output == [#"{"n":9}"#])

        let unknown = await router.handleStream(request("Counter.Nope", ""), inbound: StreamPipes([]).reader, outbound: StreamPipes([]).writer)
        #expect(unknown?.code == 404)
        #expect(unknown?.detail.contains("Counter.Nope") == true)

        let empty = await router.handleStream(request("Counter.Down", ""), inbound: StreamPipes([]).reader, outbound: StreamPipes([]).writer)
        #expect(empty?.code == 400)

        let malformed = await router.handleStream(request("Counter.Down", ""), inbound: StreamPipes(["{oops"]).reader, outbound: StreamPipes([]).writer)
        #expect(malformed?.code == 400)
    }

    @Test func unaryEndpointCalledAsStream() async throws {
        let pipes = StreamPipes([#"{"name":"Zed"}"#])
        #expect(await greeter().handleStream(request("Greeter.Hello", ""), inbound: pipes.reader, outbound: pipes.writer) == nil)
        #expect(pipes.output == [#"{"message":"Hello Zed"}"#])
    }

    @Test func streamEndpointCalledAsUnaryIs400() async throws {
        let router = Router(serviceName: "counter")
        router.handle("Counter.Down") { (_: CountRequest, _: ServerStream<Tick>, _: HandlerContext) in }
        guard case .failure(let e) = await router.handle(request("Counter.Down", #"{"from":1}"#)) else {
            Issue.record("expected a failure"); return
        }
        #expect(e.code == 400)
    }

    @Test func wrappersAlsoWrapStreams() async throws {
        let router = Router(serviceName: "counter")
        let log = Locked<[String]>([])
        router.handle("Counter.Down") { (req: CountRequest, stream: ServerStream<Tick>, _: HandlerContext) in
            log.withLock { $0.append("handler") }
            try await stream.send(Tick(n: req.from))
        }
        router.use(Recorder(name: "a", log: log))
        let pipes = StreamPipes([#"{"from":1}"#])
        #expect(await router.handleStream(request("Counter.Down", ""), inbound: pipes.reader, outbound: pipes.writer) == nil)
        #expect(log.value == ["a>", "handler", "<a"])
    }

    @Test func endpointsDescribeHandlers() {
        let router = greeter()
        router.handle("Counter.Down") { (_: CountRequest, _: ServerStream<Tick>, _: HandlerContext) in }
        let endpoints = router.endpoints
        #expect(endpoints.map(\.name) == ["Counter.Down", "Debug.Health", "Greeter.Hello"])
        let hello = endpoints[2]
        #expect(hello.metadata["stream"] == "false")
        #expect(hello.request?.name == "HelloRequest")
        #expect(hello.request?.values == [Value(name: "name", type: "string")])
        #expect(hello.response?.values == [Value(name: "message", type: "string")])
        #expect(endpoints[0].metadata["stream"] == "true")
        #expect(endpoints[0].request?.values == [Value(name: "from", type: "int64")])
    }

    struct Address: Codable { var street: String; var zip: Int32; var geo: Geo }
    struct Geo: Codable { var lat: Double; var lon: Float }
    enum Kind: String, Codable { case person, company }
    struct Person: Codable {
        var name: String
        var age: Int
        var tags: [String]
        var address: Address
        var nickname: String?
        var verified: Bool
        var labels: [String: String]
        var score: UInt32
        var kind: Kind  // cannot be built from a neutral value; described, but must come last here
    }

    @Test func shapeOfNestedCodable() throws {
        let shape = Shape.of(Person.self)
        #expect(shape.name == "Person")
        #expect(shape.type == "Person")
        let byName = Dictionary(shape.values.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(shape.values.map(\.name) == ["name", "age", "tags", "address", "nickname", "verified", "labels", "score", "kind"],
                "every field is described, in declaration order")
        #expect(byName["name"]?.type == "string")
        #expect(byName["age"]?.type == "int64")
        #expect(byName["nickname"]?.type == "string")
        #expect(byName["verified"]?.type == "bool")
        #expect(byName["score"]?.type == "uint32")
        #expect(byName["tags"]?.type == "Array<String>")
        #expect(byName["labels"]?.type == "Dictionary<String, String>")
        #expect(byName["kind"]?.type == "Kind")
        let address = try #require(byName["address"])
        #expect(address.type == "Address")
        #expect(address.values.map(\.name) == ["street", "zip", "geo"])
        #expect(address.values.first { $0.name == "zip" }?.type == "int32")
        let geo = try #require(address.values.first { $0.name == "geo" })
        #expect(geo.values == [Value(name: "lat", type: "float64"), Value(name: "lon", type: "float32")])
    }

    @Test func shapeOfOtherKinds() {
        #expect(Shape.of(ByteBuffer.self).type == "bytes")
        #expect(Shape.of([UInt8].self).type == "bytes")
        #expect(Shape.of(Google_Protobuf_StringValue.self).type == "google.protobuf.StringValue")
        #expect(Shape.of(HelloRequest.self) == Value(name: "HelloRequest", type: "HelloRequest", values: [Value(name: "name", type: "string")]))
    }

    final class Node2: Codable { var name = ""; var child: Node2? }

    @Test func shapeOfRecursiveTypeTerminates() {
        let shape = Shape.of(Node2.self)
        #expect(shape.values.first?.name == "name")
        #expect(shape.values.map(\.name).contains("child"))
    }
}
