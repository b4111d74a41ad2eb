import Foundation
import MicroCore
import NIOCore
import SwiftProtobuf
import Testing

/// Picks the node with this id when it is a candidate, otherwise the first candidate.
func prefer(_ id: String) -> SelectionStrategy {
    SelectionStrategy { _, nodes in nodes.first { $0.id == id } ?? nodes[0] }
}

@Suite struct ClientTests {
    @Test func typedCallRoundTrip() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (req: HelloRequest, _: HandlerContext) in HelloReply(message: "Hello \(req.name)") }
        try await cluster.serve(router, service: "greeter", nodeID: "greeter-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let reply: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "Alice"))
        #expect(reply == HelloReply(message: "Hello Alice"))
        let again = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "Bob"), as: HelloReply.self)
        #expect(again.message == "Hello Bob")
    }

    @Test func protobufCallRoundTrip() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "echo")
        router.handle("Echo.Upper") { (req: Google_Protobuf_StringValue, _: HandlerContext) in Google_Protobuf_StringValue(req.value.uppercased()) }
        try await cluster.serve(router, service: "echo", nodeID: "echo-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        var options = CallOptions()
        options.contentType = "application/protobuf"
        let reply = try await client.call("echo", "Echo.Upper", Google_Protobuf_StringValue("hi"), as: Google_Protobuf_StringValue.self, options: options)
        #expect(reply.value == "HI")
    }

    @Test func errorsFromHandlersArriveAsMicroErrors() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (_: HelloRequest, _: HandlerContext) -> HelloReply in throw MicroError.conflict("greeter", "already greeted") }
        try await cluster.serve(router, service: "greeter", nodeID: "greeter-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let e = await #expect(throws: MicroError.self) { try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"), as: HelloReply.self) }
        #expect(e == .conflict("greeter", "already greeted"))
        let missing = await #expect(throws: MicroError.self) { try await client.call("greeter", "Greeter.Nope", HelloRequest(name: "x"), as: HelloReply.self) }
        #expect(missing?.code == 404)
        let noService = await #expect(throws: MicroError.self) { try await client.call("nobody", "X.Y", HelloRequest(name: "x"), as: HelloReply.self) }
        #expect(noService?.code == 404)
    }

    @Test func retryGoesToAnotherNodeWhenTheFirstIsGone() async throws {
        let cluster = Cluster()
        let served = Locked<[String]>([])
        for id in ["dead", "alive"] {
            let router = Router(serviceName: "greeter")
            router.handle("Greeter.Hello") { (req: HelloRequest, _: HandlerContext) in
                served.withLock { $0.append(id) }
                return HelloReply(message: "from \(id)")
            }
            let listener = try await cluster.serve(router, service: "greeter", nodeID: id)
            if id == "dead" { await listener.shutdown(gracePeriod: .zero) }  // still registered, no longer listening
        }
        let client = cluster.client(strategy: prefer("dead"))
        defer { Task { await client.shutdown() } }
        let reply: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"))
        #expect(reply.message == "from alive")
        #expect(served.value == ["alive"])
        #expect(client.selector.failures.isAvoided("dead"), "the unreachable node is avoided afterwards")
        // The next call skips the failed node without trying it first.
        let next: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "y"))
        #expect(next.message == "from alive")
    }

    @Test func withoutRetriesAnUnreachableNodeFails() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (req: HelloRequest, _: HandlerContext) in HelloReply(message: "") }
        let dead = try await cluster.serve(router, service: "greeter", nodeID: "dead")
        await dead.shutdown(gracePeriod: .zero)
        try await cluster.serve(router, service: "greeter", nodeID: "alive")
        var options = CallOptions()
        options.retries = 0
        let client = cluster.client(defaults: options, strategy: prefer("dead"))
        defer { Task { await client.shutdown() } }
        let e = await #expect(throws: MicroError.self) { try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"), as: HelloReply.self) }
        #expect(e?.code == 503)
    }

    @Test func noRetryForBadRequest() async throws {
        let cluster = Cluster()
        let calls = Locked(0)
        for id in ["n1", "n2"] {
            let router = Router(serviceName: "greeter")
            router.handle("Greeter.Hello") { (_: HelloRequest, _: HandlerContext) -> HelloReply in
                calls.withLock { $0 += 1 }
                throw MicroError.badRequest("greeter", "name too short")
            }
            try await cluster.serve(router, service: "greeter", nodeID: id)
        }
        var options = CallOptions()
        options.retries = 3
        let client = cluster.client(defaults: options)
        defer { Task { await client.shutdown() } }
        let e = await #expect(throws: MicroError.self) { try await client.call("greeter", "Greeter.Hello", HelloRequest(name: ""), as: HelloReply.self) }
        #expect(e?.code == 400)
        #expect(e?.detail == "name too short")
        #expect(calls.value == 1)
        // A malformed request is a 400 from the router, also not retried.
        let raw = await #expect(throws: MicroError.self) { try await client.callRaw("greeter", "Greeter.Hello", body: ByteBuffer(string: "{bad")) }
        #expect(raw?.code == 400)
        #expect(calls.value == 1)
    }

    @Test func retriesOnUnavailable() async throws {
        let cluster = Cluster()
        let calls = Locked<[String]>([])
        for id in ["busy", "free"] {
            let router = Router(serviceName: "greeter")
            router.handle("Greeter.Hello") { (_: HelloRequest, _: HandlerContext) -> HelloReply in
                calls.withLock { $0.append(id) }
                if id == "busy" { throw MicroError.unavailable("greeter", "draining") }
                return HelloReply(message: id)
            }
            try await cluster.serve(router, service: "greeter", nodeID: id)
        }
        let client = cluster.client(strategy: prefer("busy"))
        defer { Task { await client.shutdown() } }
        let reply: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"))
        #expect(reply.message == "free")
        #expect(calls.value == ["busy", "free"])
    }

    @Test func slowHandlerTimesOutWith408() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "slow")
        router.handle("Slow.Call") { (_: HelloRequest, _: HandlerContext) -> HelloReply in
            try await Task.sleep(for: .seconds(10))
            return HelloReply(message: "too late")
        }
        try await cluster.serve(router, service: "slow", nodeID: "slow-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        var options = CallOptions(timeout: .milliseconds(200))
        options.retries = 0
        let clock = ContinuousClock()
        let start = clock.now
        let e = await #expect(throws: MicroError.self) { try await client.call("slow", "Slow.Call", HelloRequest(name: "x"), as: HelloReply.self, options: options) }
        let elapsed = clock.now - start
        #expect(e?.code == 408)
        #expect(e?.status == "Request Timeout")
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < .seconds(2), "the call must give up at its deadline, took \(elapsed)")
    }

    @Test func inheritedDeadlineBoundsTheCall() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "slow")
        router.handle("Slow.Call") { (_: HelloRequest, _: HandlerContext) -> HelloReply in
            try await Task.sleep(for: .seconds(10))
            return HelloReply(message: "too late")
        }
        try await cluster.serve(router, service: "slow", nodeID: "slow-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let clock = ContinuousClock()
        let start = clock.now
        // The call's own timeout is 5 s, but the task's context says 200 ms.
        let e = await #expect(throws: MicroError.self) {
            try await CallContext.with(metadata: [:], deadline: .now() + .milliseconds(200)) {
                try await client.call("slow", "Slow.Call", HelloRequest(name: "x"), as: HelloReply.self)
            }
        }
        #expect(e?.code == 408)
        #expect(clock.now - start < .seconds(2))
    }

    @Test func metadataAndDeadlinePropagateIncludingOnwardCalls() async throws {
        let cluster = Cluster()
        let client = cluster.client()
        defer { Task { await client.shutdown() } }

        struct Seen: Sendable { var metadata: Metadata; var contextMetadata: Metadata; var deadline: NIODeadline?; var contextDeadline: NIODeadline? }
        let frontSeen = Locked<Seen?>(nil)
        let backSeen = Locked<Seen?>(nil)

        let back = Router(serviceName: "back")
        back.handle("Back.Get") { (req: HelloRequest, ctx: HandlerContext) in
            backSeen.withLock { $0 = Seen(metadata: ctx.metadata, contextMetadata: CallContext.current.metadata, deadline: ctx.deadline, contextDeadline: CallContext.current.deadline) }
            return HelloReply(message: "back:\(req.name)")
        }
        let front = Router(serviceName: "front")
        front.handle("Front.Get") { (req: HelloRequest, ctx: HandlerContext) in
            frontSeen.withLock { $0 = Seen(metadata: ctx.metadata, contextMetadata: CallContext.current.metadata, deadline: ctx.deadline, contextDeadline: CallContext.current.deadline) }
            // An onward call made without passing anything by hand.
            let inner: HelloReply = try await client.call("back", "Back.Get", req)
            return HelloReply(message: "front>" + inner.message)
        }
        try await cluster.serve(back, service: "back", nodeID: "back-1")
        try await cluster.serve(front, service: "front", nodeID: "front-1")

        let before = NIODeadline.now()
        let reply: HelloReply = try await CallContext.with(metadata: ["X-Trace-Id": "trace-42", "User": "alice"]) {
            try await client.call("front", "Front.Get", HelloRequest(name: "q"), options: CallOptions(timeout: .seconds(3), metadata: ["Tenant": "acme"]))
        }
        #expect(reply.message == "front>back:q")

        let f = try #require(frontSeen.value)
        let b = try #require(backSeen.value)
        for seen in [f, b] {
            #expect(seen.metadata["x-trace-id"] == "trace-42")
            #expect(seen.metadata["USER"] == "alice")
            #expect(seen.metadata["tenant"] == "acme")
            #expect(seen.contextMetadata["X-Trace-Id"] == "trace-42")
            #expect(seen.contextMetadata["tenant"] == "acme")
            #expect(seen.deadline != nil)
            #expect(seen.contextDeadline == seen.deadline)
        }
        let frontDeadline = try #require(f.deadline)
        #expect(frontDeadline > before + .milliseconds(2500))
        #expect(frontDeadline <= NIODeadline.now() + .seconds(3))
        // The onward call's own timeout (5 s) is longer, so it inherits the caller's deadline unchanged.
        #expect(b.deadline == frontDeadline)
    }

    @Test func fromServiceIsSent() async throws {
        let cluster = Cluster()
        let seen = Locked<String?>(nil)
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (_: HelloRequest, ctx: HandlerContext) in
            seen.withLock { $0 = ctx.metadata["micro-from-service"] }
            return HelloReply(message: "")
        }
        try await cluster.serve(router, service: "greeter", nodeID: "g1")
        let client = Client(registry: cluster.registry, transports: [cluster.transport], broker: cluster.broker, fromService: "caller")
        defer { Task { await client.shutdown() } }
        let _: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"))
        #expect(seen.value == "caller")
    }

    @Test func serverStreamingViaStream() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "counter")
        router.handle("Counter.Down") { (req: CountRequest, stream: ServerStream<Tick>, _: HandlerContext) in
            for n in (0..<req.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        try await cluster.serve(router, service: "counter", nodeID: "c1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        var ticks: [Int] = []
        for try await tick in client.stream("counter", "Counter.Down", CountRequest(from: 5), of: Tick.self) { ticks.append(tick.n) }
        #expect(ticks == [4, 3, 2, 1, 0])
    }

    @Test func streamErrorsReachTheCaller() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "counter")
        router.handle("Counter.Down") { (req: CountRequest, stream: ServerStream<Tick>, _: HandlerContext) in
            try await stream.send(Tick(n: 1))
            throw MicroError.forbidden("counter", "enough")
        }
        try await cluster.serve(router, service: "counter", nodeID: "c1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        var ticks: [Int] = []
        let e = await #expect(throws: MicroError.self) {
            for try await tick in client.stream("counter", "Counter.Down", CountRequest(from: 5), of: Tick.self) { ticks.append(tick.n) }
        }
        #expect(ticks == [1])
        #expect(e?.code == 403)
        #expect(e?.detail == "enough")
    }

    @Test func bidiViaOpenStream() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "chat")
        let seenMetadata = Locked<String?>(nil)
        router.handleBidiStream("Chat.Talk") { (inbound: RequestStream<HelloRequest>, outbound: ServerStream<HelloReply>, ctx: HandlerContext) in
            seenMetadata.withLock { $0 = ctx.metadata["room"] }
            for try await m in inbound { try await outbound.send(HelloReply(message: "echo \(m.name)")) }
            try await outbound.send(HelloReply(message: "bye"))
        }
        try await cluster.serve(router, service: "chat", nodeID: "chat-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let stream = try await client.openStream("chat", "Chat.Talk", sending: HelloRequest.self, receiving: HelloReply.self,
                                                 options: CallOptions(metadata: ["Room": "lobby"]))
        try await stream.send(HelloRequest(name: "one"))
        #expect(try await stream.receive() == HelloReply(message: "echo one"))
        try await stream.send(HelloRequest(name: "two"))
        #expect(try await stream.receive() == HelloReply(message: "echo two"))
        try await stream.finishSending()
        #expect(try await stream.receive() == HelloReply(message: "bye"))
        #expect(try await stream.receive() == nil)
        #expect(seenMetadata.value == "lobby")
    }

    @Test func clientStreamViaOpenStream() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "adder")
        router.handleClientStream("Adder.Sum") { (numbers: RequestStream<Tick>, _: HandlerContext) in
            var total = 0
            for try await t in numbers { total += t.n }
            return Sum(total: total)
        }
        try await cluster.serve(router, service: "adder", nodeID: "a1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let stream = try await client.openStream("adder", "Adder.Sum", sending: Tick.self, receiving: Sum.self)
        for n in 1...10 { try await stream.send(Tick(n: n)) }
        try await stream.finishSending()
        #expect(try await stream.receive() == Sum(total: 55))
        #expect(try await stream.receive() == nil)
    }

    @Test func openStreamToUnknownEndpointFails() async throws {
        let cluster = Cluster()
        try await cluster.serve(Router(serviceName: "chat"), service: "chat", nodeID: "chat-1")
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let stream = try await client.openStream("chat", "Chat.Missing", sending: HelloRequest.self, receiving: HelloReply.self)
        let e = await #expect(throws: MicroError.self) { try await stream.receive() }
        #expect(e?.code == 404)
    }

    @Test func publishCarriesGoMicroHeadersAndMetadata() async throws {
        let cluster = Cluster()
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let got = Locked<[BrokerEvent]>([])
        _ = try await cluster.broker.subscribe("greetings", queue: nil) { e in got.withLock { $0.append(e) } }
        try await CallContext.with(metadata: ["X-Trace-Id": "t-1"]) {
            try await client.publish("greetings", HelloRequest(name: "hi"), metadata: ["User": "bob"])
        }
        try await client.publish("greetings", HelloRequest(name: "again"))
        let events = got.value
        #expect(events.count == 2)
        let first = try #require(events.first)
        #expect(first.topic == "greetings")
        #expect(first.message.header["Content-Type"] == "application/json")
        #expect(first.message.header["Micro-Topic"] == "greetings")
        let id = try #require(first.message.header["Micro-Id"])
        #expect(UUID(uuidString: id) != nil)
        #expect(first.message.header("x-trace-id") == "t-1")
        #expect(first.message.header("User") == "bob")
        #expect(try JSONDecoder().decode(HelloRequest.self, from: Data(first.message.body)) == HelloRequest(name: "hi"))
        // Each publish has its own id, and metadata does not leak into the next publish.
        let second = events[1]
        #expect(second.message.header["Micro-Id"] != id)
        #expect(second.message.header("x-trace-id") == nil)
        #expect(second.message.header("user") == nil)
    }

    @Test func publishToQueueGroupThroughClient() async throws {
        let cluster = Cluster()
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let got = Locked<[String: Int]>([:])
        for name in ["a", "b"] {
            _ = try await cluster.broker.subscribe("jobs", queue: "workers") { _ in got.withLock { $0[name, default: 0] += 1 } }
        }
        for i in 0..<6 { try await client.publish("jobs", Tick(n: i)) }
        #expect(got.value == ["a": 3, "b": 3])
    }

    struct Tagging: CallWrapper {
        let log: Locked<[String]>
        func call(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> RPCResponse) async throws -> RPCResponse {
            log.withLock { $0.append("wrap:\(request.endpoint)") }
            var r = request
            r.metadata["x-wrapped"] = "yes"
            return try await next(r)
        }
    }

    @Test func callWrappersSeeEveryCall() async throws {
        let cluster = Cluster()
        let seen = Locked<String?>(nil)
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (_: HelloRequest, ctx: HandlerContext) in
            seen.withLock { $0 = ctx.metadata["x-wrapped"] }
            return HelloReply(message: "")
        }
        try await cluster.serve(router, service: "greeter", nodeID: "g1")
        let log = Locked<[String]>([])
        let client = Client(registry: cluster.registry, transports: [cluster.transport], broker: cluster.broker, callWrappers: [Tagging(log: log)])
        defer { Task { await client.shutdown() } }
        let _: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"))
        #expect(log.value == ["wrap:Greeter.Hello"])
        #expect(seen.value == "yes")
    }

    @Test func directAddressSkipsTheRegistry() async throws {
        let cluster = Cluster()
        let router = Router(serviceName: "greeter")
        router.handle("Greeter.Hello") { (req: HelloRequest, _: HandlerContext) in HelloReply(message: req.name) }
        let listener = try await cluster.transport.listen(on: "", handler: router)
        let client = cluster.client()
        defer { Task { await client.shutdown() } }
        let reply = try await client.call("unregistered", "Greeter.Hello", HelloRequest(name: "direct"), as: HelloReply.self,
                                          options: CallOptions(address: listener.address))
        #expect(reply.message == "direct")
    }
}
