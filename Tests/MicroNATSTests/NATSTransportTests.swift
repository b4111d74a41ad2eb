import Foundation
import MicroCore
@testable import MicroNATS
@testable import NATSClient
import NIOCore
import Testing

extension NATSSuite {
    /// RPC over NATS request/reply: unary calls, errors, deadlines, the three stream shapes with
    /// backpressure, cancellation, and what a listener does with malformed messages.
    @Suite struct NATSTransportTests {
        typealias K = NATSTestKit

        /// Records when (and whether) handlers exited.
        final class Exits: Sendable {
            let log = K.Box<[String: ContinuousClock.Instant]>([:])
            func mark(_ name: String) { log.update { $0[name] = .now } }
            func at(_ name: String) -> ContinuousClock.Instant? { log.value[name] }
        }

        static func server(_ nats: NATSServerProcess, exits: Exits = Exits(), sent: K.Box<Int> = K.Box(0),
                           configuration: NATSTransportConfiguration = NATSTransportConfiguration()) async throws -> NATSTestServer {
            try await NATSTestServer.start(nats, configuration: configuration) { router in
                router.handle("Test.Fail") { (_: K.Hello, _: HandlerContext) -> K.Reply in
                    throw MicroError(id: "test", code: 409, detail: "conflict here")
                }
                router.handle("Test.Inspect") { (_: K.Hello, ctx: HandlerContext) -> K.Reply in
                    let left = ctx.deadline.map { Double(($0 - .now()).nanoseconds) / 1e9 } ?? -1
                    return K.Reply(message: "\(ctx.metadata["trace-id"] ?? "-")|\(ctx.requestID)|\(left > 0 && left <= 5 ? "deadline" : "none")")
                }
                router.handle("Test.Sleep") { (_: K.Hello, _: HandlerContext) -> K.Reply in
                    defer { exits.mark("sleep") }
                    try await Task.sleep(for: .seconds(10))
                    return K.Reply(message: "woke")
                }
                router.handle("Test.Big") { (c: K.Count, _: HandlerContext) -> ByteBuffer in
                    ByteBuffer(repeating: 0x61, count: c.from)
                }
                router.handle("Test.FailAfter3") { (_: K.Count, stream: ServerStream<K.Tick>, _: HandlerContext) in
                    for n in 0..<3 { try await stream.send(K.Tick(n: n)) }
                    throw MicroError(id: "test", code: 409, detail: "stopped after 3")
                }
                router.handle("Test.Flood") { (c: K.Count, stream: ServerStream<ByteBuffer>, _: HandlerContext) in
                    var message = ByteBuffer(repeating: 0x70, count: 1024)
                    for n in 0..<c.from {
                        message.setInteger(UInt32(n), at: 0)
                        try await stream.send(message)
                        sent.update { $0 += 1 }
                    }
                }
                router.handleClientStream("Test.SlowDrain") { (requests: RequestStream<ByteBuffer>, _: HandlerContext) -> K.Count in
                    var n = 0
                    for try await _ in requests {
                        n += 1
                        let read = n
                        sent.update { $0 = read }
                        if n <= 10 { continue }
                        try await Task.sleep(for: .milliseconds(400))   // a reader that stalls after 10 messages
                    }
                    return K.Count(from: n)
                }
                router.handle("Test.Forever") { (_: K.Count, stream: ServerStream<K.Tick>, _: HandlerContext) in
                    defer { exits.mark("forever") }
                    var n = 0
                    while true {
                        try await stream.send(K.Tick(n: n))
                        n += 1
                    }
                }
                router.handle("Test.Park") { (_: K.Count, stream: ServerStream<K.Tick>, _: HandlerContext) in
                    defer { exits.mark("park") }
                    try await stream.send(K.Tick(n: 1))
                    try await Task.sleep(for: .seconds(10))
                }
            }
        }

        func hello(_ name: String, endpoint: String = "Test.Hello", metadata: Metadata = Metadata(), deadline: NIODeadline? = nil, id: String = "") throws -> RPCRequest {
            RPCRequest(service: "test", endpoint: endpoint, metadata: metadata, deadline: deadline, id: id, body: try K.encode(K.Hello(name: name)))
        }

        func client(_ nats: NATSServerProcess, configuration: NATSTransportConfiguration = NATSTransportConfiguration()) -> NATSClientTransport {
            NATSClientTransport(options: NATSOptions(servers: [nats.url]), configuration: configuration, logger: K.logger)
        }

        func open(_ client: NATSClientTransport, _ server: NATSTestServer, _ endpoint: String, deadline: NIODeadline? = nil) async throws -> any ClientStreamChannel {
            try await client.openStream(RPCRequest(service: "test", endpoint: endpoint, deadline: deadline, isStream: true), to: server.address)
        }

        // MARK: Unary

        @Test func unaryRoundTrip() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            #expect(server.address.hasPrefix("micro.rpc."), "a host:port-less listen picks a subject: \(server.address)")
            let client = client(nats)
            #expect(client.protocolName == "nats")
            let response = try await client.call(hello("a"), to: server.address)
            #expect(try K.json.decode(K.Reply.self, from: response.body) == K.Reply(message: "Hello a"))
            #expect(response.contentType == "application/json")
            await client.shutdown()
            await server.stop()
        }

        @Test func listenAddressRules() async throws {
            #expect(NATSServerTransport.subject(for: "").hasPrefix("micro.rpc."))
            #expect(NATSServerTransport.subject(for: "127.0.0.1:0").hasPrefix("micro.rpc."))
            #expect(NATSServerTransport.subject(for: "[::1]:8080").hasPrefix("micro.rpc."))
            #expect(NATSServerTransport.subject(for: "greeter.rpc") == "greeter.rpc")
            #expect(NATSServerTransport.subject(for: "") != NATSServerTransport.subject(for: ""))
            let nats = try await NATSServerProcess()
            let server = try await NATSTestServer.start(nats, address: "svc.fixed")
            #expect(server.address == "svc.fixed")
            let client = client(nats)
            _ = try await client.call(hello("x"), to: "svc.fixed")
            let error = await K.caught { _ = try await NATSServerTransport(connection: server.connection).listen(on: "svc.*", handler: server.router) }
            #expect((error as? MicroError)?.code == 400)
            await client.shutdown()
            await server.stop()
        }

        @Test func requestCarriesGoMicroHeadersAndMetadataAndDeadline() async throws {
            let nats = try await NATSServerProcess()
            let raw = try await K.connect(nats)
            let sub = try raw.subscribe("scripted.rpc")
            try await raw.flush()
            let answered = Task { () -> NATSMessage? in
                for await m in sub {
                    var h = NATSHeaders()
                    h.add("Content-Type", "application/json")
                    h.add("X-Reply", "r1")
                    try? await raw.publish(m.replyTo ?? "", payload: ByteBuffer(string: "{\"message\":\"ok\"}"), headers: h)
                    return m
                }
                return nil
            }
            let client = client(nats)
            let request = RPCRequest(service: "greeter", endpoint: "Greeter.Hello", metadata: ["Trace-Id": "t1", "Micro-From-Service": "caller"],
                                     deadline: .now() + .seconds(2), id: "req-1", body: ByteBuffer(string: "{\"name\":\"a\"}"))
            let response = try await client.call(request, to: "scripted.rpc")
            #expect(String(buffer: response.body) == "{\"message\":\"ok\"}")
            #expect(response.metadata["x-reply"] == "r1")
            let seen = try #require(await answered.value)
            let h = try #require(seen.headers)
            #expect(h["Micro-Id"] == "req-1")
            #expect(h["Micro-Service"] == "greeter")
            #expect(h["Micro-Endpoint"] == "Greeter.Hello")
            #expect(h["Micro-Method"] == "Greeter.Hello")
            #expect(h["Content-Type"] == "application/json")
            #expect(h["Micro-Stream"] == nil)
            #expect(h["Trace-Id"] == "t1")
            #expect(h["Micro-From-Service"] == "caller")
            #expect(String(buffer: seen.payload) == "{\"name\":\"a\"}")
            let timeout = try #require(h["Timeout"].flatMap { Int64($0) })
            #expect(timeout > 1_000_000_000 && timeout <= 2_000_000_000)
            await client.shutdown()
            await raw.close()
        }

        @Test func handlerSeesMetadataIdAndDeadline() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let response = try await client.call(hello("x", endpoint: "Test.Inspect", metadata: ["Trace-Id": "abc"], deadline: .now() + .seconds(3), id: "id-7"), to: server.address)
            #expect(try K.json.decode(K.Reply.self, from: response.body).message == "abc|id-7|deadline")
            await client.shutdown()
            await server.stop()
        }

        @Test func handlerErrorArrivesIntact() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let error = await K.caught { _ = try await client.call(hello("x", endpoint: "Test.Fail"), to: server.address) }
            let e = try #require(error as? MicroError, "got \(String(describing: error))")
            #expect(e == MicroError(id: "test", code: 409, detail: "conflict here", status: "Conflict"))
            await client.shutdown()
            await server.stop()
        }

        @Test func unknownEndpointIs404() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let error = await K.caught { _ = try await client.call(hello("x", endpoint: "Nope.Nothing"), to: server.address) }
            #expect((error as? MicroError)?.code == 404, "got \(String(describing: error))")
            #expect((error as? MicroError)?.detail.contains("Nope.Nothing") == true)
            await client.shutdown()
            await server.stop()
        }

        @Test func noListenerIsConnectFailed() async throws {
            let nats = try await NATSServerProcess()
            let client = client(nats)
            var error: (any Error)?
            let took = await K.elapsed { error = await K.caught { _ = try await client.call(hello("x"), to: "micro.rpc.nobody") } }
            #expect((error as? TransportError)?.code == .connectFailed, "got \(String(describing: error))")
            #expect(took < .seconds(1), "no responders is immediate")
            let streamError = await K.caught { _ = try await client.openStream(RPCRequest(service: "t", endpoint: "T.S", isStream: true), to: "micro.rpc.nobody") }
            #expect((streamError as? TransportError)?.code == .connectFailed, "got \(String(describing: streamError))")
            await client.shutdown()
        }

        @Test func deadlineTimesOutTheCallerAndCancelsTheHandler() async throws {
            let nats = try await NATSServerProcess()
            let exits = Exits()
            let server = try await Self.server(nats, exits: exits)
            let client = client(nats)
            var error: (any Error)?
            let took = await K.elapsed {
                error = await K.caught { _ = try await client.call(hello("x", endpoint: "Test.Sleep", deadline: .now() + .milliseconds(300)), to: server.address) }
            }
            #expect((error as? TransportError)?.code == .timeout, "got \(String(describing: error))")
            #expect(took < .milliseconds(900))
            // The server got the Timeout header and cancelled the handler at the deadline.
            #expect(await K.eventually(within: .seconds(2)) { exits.at("sleep") != nil })
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            let past = await K.caught { _ = try await client.call(hello("x", deadline: .now() - .seconds(1)), to: server.address) }
            #expect((past as? TransportError)?.code == .timeout)
            await client.shutdown()
            await server.stop()
        }

        @Test func largeMessagesAreBoundedByMaxPayload() async throws {
            let nats = try await NATSServerProcess(arguments: try K.serverConfig("max_payload: 65536"))
            let server = try await Self.server(nats)
            let client = client(nats)
            // Under the limit: fine.
            let ok = try await client.call(RPCRequest(service: "test", endpoint: "Test.Big", body: try K.encode(K.Count(from: 60_000))), to: server.address)
            #expect(ok.body.readableBytes == 60_000)
            // A request over the server's max_payload: refused before sending.
            let big = RPCRequest(service: "test", endpoint: "Test.Hello", body: ByteBuffer(repeating: 0x20, count: 70_000))
            let requestError = await K.caught { _ = try await client.call(big, to: server.address) }
            #expect((requestError as? MicroError)?.code == 413, "got \(String(describing: requestError))")
            // A response over it: the server answers 413 instead.
            let responseError = await K.caught {
                _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Big", body: try K.encode(K.Count(from: 70_000))), to: server.address)
            }
            #expect((responseError as? MicroError)?.code == 413, "got \(String(describing: responseError))")
            // A configured limit below it applies too.
            var small = NATSTransportConfiguration()
            small.maxMessageSize = 1000
            let limited = self.client(nats, configuration: small)
            let limitError = await K.caught { _ = try await limited.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: ByteBuffer(repeating: 0x20, count: 2000)), to: server.address) }
            #expect((limitError as? MicroError)?.code == 413)
            await limited.shutdown()
            await client.shutdown()
            await server.stop()
        }

        @Test func concurrentCalls() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let r = try await client.call(try hello("n\(i)"), to: server.address)
                        #expect(try K.json.decode(K.Reply.self, from: r.body).message == "Hello n\(i)")
                    }
                }
                try await group.waitForAll()
            }
            await client.shutdown()
            await server.stop()
        }

        @Test func instancesSharingASubjectShareItsCalls() async throws {
            let nats = try await NATSServerProcess()
            let counts = K.Box([0, 0])
            var servers: [NATSTestServer] = []
            for i in 0..<2 {
                servers.append(try await NATSTestServer.start(nats, address: "shared.rpc") { router in
                    router.handle("Test.Who") { (_: K.Hello, _: HandlerContext) -> K.Reply in
                        counts.update { $0[i] += 1 }
                        return K.Reply(message: "\(i)")
                    }
                })
            }
            let client = client(nats)
            for _ in 0..<100 { _ = try await client.call(hello("x", endpoint: "Test.Who"), to: "shared.rpc") }
            #expect(counts.value.reduce(0, +) == 100, "each call served once: \(counts.value)")
            #expect(counts.value.allSatisfy { $0 > 0 }, "the queue group spreads calls: \(counts.value)")
            await client.shutdown()
            for s in servers { await s.stop() }
        }

        // MARK: Malformed input

        @Test func malformedMessagesToTheListenerGetErrorsOrAreDropped() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let raw = try await K.connect(nats)
            func ask(_ payload: String, headers: NATSHeaders?) async throws -> NATSMessage {
                try await raw.request(server.address, payload: ByteBuffer(string: payload), headers: headers, timeout: .seconds(2))
            }
            // Garbage without headers: 400.
            let garbage = try await ask("\u{1}\u{2}garbage", headers: nil)
            #expect(MicroError.parse(garbage.headers?["Micro-Error"] ?? "").code == 400)
            #expect(MicroError.parse(String(buffer: garbage.payload)).code == 400)
            // Headers without an endpoint: 400.
            let noEndpoint = try await ask("{}", headers: ["Content-Type": "application/json", "X-Junk": "1"])
            #expect(MicroError.parse(noEndpoint.headers?["Micro-Error"] ?? "").code == 400)
            // A malformed Timeout is ignored (as go-micro does); an enormous one is no deadline in practice.
            let badTimeout = try await ask("{\"name\":\"t\"}", headers: ["Micro-Endpoint": "Test.Hello", "Timeout": "soon"])
            #expect(badTimeout.headers?["Micro-Error"] == nil)
            let hugeTimeout = try await ask("{\"name\":\"t\"}", headers: ["Micro-Endpoint": "Test.Hello", "Timeout": "99999999999999999999"])
            #expect(hugeTimeout.headers?["Micro-Error"] == nil)
            let maxTimeout = try await ask("{\"name\":\"t\"}", headers: ["Micro-Endpoint": "Test.Hello", "Timeout": "\(Int64.max)"])
            #expect(maxTimeout.headers?["Micro-Error"] == nil)
            // A body the codec cannot decode: the router's 400 (or 500), never a crash.
            let badBody = try await ask("not json", headers: ["Micro-Endpoint": "Test.Hello", "Content-Type": "application/json"])
            #expect((MicroError.parse(badBody.headers?["Micro-Error"] ?? "").code) >= 400)
            // An unknown content type.
            let badType = try await ask("{}", headers: ["Micro-Endpoint": "Test.Hello", "Content-Type": "text/klingon"])
            #expect(badType.headers?["Micro-Error"] != nil)
            // A stream frame on the listening subject.
            let frame = try await ask("", headers: ["Micro-Frame": "data", "Micro-Seq": "1"])
            #expect(MicroError.parse(frame.headers?["Micro-Error"] ?? "").code == 400)
            // A stream opening without a window: an error frame.
            let badOpen = try await ask("", headers: ["Micro-Endpoint": "Test.Echo", "Micro-Stream": "Test.Echo"])
            #expect(badOpen.headers?["Micro-Frame"] == "error")
            // No reply subject: dropped silently.
            try await raw.publish(server.address, payload: ByteBuffer(string: "nobody listens"))
            try await raw.publish(server.address, payload: ByteBuffer(), headers: ["Micro-Endpoint": "Test.Hello"])
            // The listener still serves.
            let client = client(nats)
            let ok = try await client.call(hello("still"), to: server.address)
            #expect(try K.json.decode(K.Reply.self, from: ok.body).message == "Hello still")
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            await client.shutdown()
            await raw.close()
            await server.stop()
        }

        @Test func garbageOnAStreamInboxBreaksOnlyThatStream() async throws {
            let nats = try await NATSServerProcess()
            let exits = Exits()
            let server = try await Self.server(nats, exits: exits)
            // A hand-made client: opens a stream, then sends the server's inbox a frame out of sequence.
            let raw = try await K.connect(nats)
            let inbox = raw.newInbox()
            let replies = try raw.subscribe(inbox)
            try await raw.publish(server.address, payload: ByteBuffer(), headers: ["Micro-Endpoint": "Test.Echo", "Micro-Stream": "Test.Echo", "Micro-Stream-Window": "4"], replyTo: inbox)
            var iterator = replies.makeAsyncIterator()
            let accept = try #require(await iterator.next())
            #expect(accept.headers?["Micro-Frame"] == "accept")
            #expect(accept.headers?["Micro-Stream-Window"] == "16")
            let serverInbox = try #require(accept.replyTo)
            try await raw.publish(serverInbox, payload: ByteBuffer(string: "{}"), headers: ["Micro-Frame": "data", "Micro-Seq": "7"])
            let error = try #require(await iterator.next())
            #expect(error.headers?["Micro-Frame"] == "error")
            #expect(MicroError.parse(error.headers?["Micro-Error"] ?? "").code == 400)
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            // Garbage headers too.
            let inbox2 = raw.newInbox()
            let replies2 = try raw.subscribe(inbox2)
            try await raw.publish(server.address, payload: ByteBuffer(), headers: ["Micro-Endpoint": "Test.Echo", "Micro-Stream": "1", "Micro-Stream-Window": "4"], replyTo: inbox2)
            var iterator2 = replies2.makeAsyncIterator()
            let accept2 = try #require(await iterator2.next())
            try await raw.publish(try #require(accept2.replyTo), payload: ByteBuffer(string: "x"), headers: ["Micro-Frame": "teleport"])
            let error2 = try #require(await iterator2.next())
            #expect(error2.headers?["Micro-Frame"] == "error")
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            // Other calls are unaffected.
            let client = client(nats)
            _ = try await client.call(hello("ok"), to: server.address)
            await client.shutdown()
            await raw.close()
            await server.stop()
        }

        @Test func goMicroJSONTransportCallsAreAnswered() async throws {
            // go-micro's own NATS transport: the payload is {"Header": {...}, "Body": "<base64>"}, no NATS headers.
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let raw = try await K.connect(nats)
            let body = Data("{\"name\":\"go\"}".utf8).base64EncodedString()
            let request = #"{"Header":{"Micro-Service":"test","Micro-Endpoint":"Test.Hello","Micro-Method":"Test.Hello","Micro-ID":"go-1","Content-Type":"application/json","Timeout":"5000000000"},"Body":"\#(body)"}"#
            let reply = try await raw.request(server.address, payload: ByteBuffer(string: request), timeout: .seconds(2))
            #expect(reply.headers == nil)
            let message = try JSONDecoder().decode(BrokerMessage.self, from: Data(buffer: reply.payload))
            #expect(message.header("Content-Type") == "application/json")
            #expect(message.header("Micro-Id") == "go-1")
            #expect(try K.json.decode(K.Reply.self, from: ByteBuffer(bytes: message.body)) == K.Reply(message: "Hello go"))
            let failing = #"{"Header":{"Micro-Endpoint":"Test.Fail","Content-Type":"application/json"},"Body":"\#(body)"}"#
            let errorReply = try await raw.request(server.address, payload: ByteBuffer(string: failing), timeout: .seconds(2))
            let errorMessage = try JSONDecoder().decode(BrokerMessage.self, from: Data(buffer: errorReply.payload))
            #expect(MicroError.parse(errorMessage.header("Micro-Error") ?? "") == MicroError(id: "test", code: 409, detail: "conflict here"))
            await raw.close()
            await server.stop()
        }

        // MARK: Streams

        @Test func serverStreaming() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Countdown")
            try await stream.send(K.encode(K.Count(from: 50)))
            try await stream.finishSending()
            var ticks: [Int] = []
            while let m = try await stream.receive() { ticks.append(try K.json.decode(K.Tick.self, from: m).n) }
            #expect(ticks == Array((0..<50).reversed()))
            #expect(try await stream.receive() == nil)
            await (stream as! NATSClientStream).waitUntilClosed()
            await client.shutdown()
            await server.stop()
        }

        @Test func clientStreaming() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Sum")
            for n in 1...100 { try await stream.send(K.encode(K.Tick(n: n))) }
            try await stream.finishSending()
            let total = try #require(try await stream.receive())
            #expect(try K.json.decode(K.Tick.self, from: total).n == 5050)
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func bidiStreamingInterleaved() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Echo")
            for i in 0..<40 {
                try await stream.send(K.encode(K.Hello(name: "m\(i)")))
                let reply = try #require(try await stream.receive())
                #expect(try K.json.decode(K.Reply.self, from: reply).message == "m\(i)")
            }
            try await stream.finishSending()
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func bidiStreamingConcurrentSendAndReceive() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Echo")
            let total = 500
            let sender = Task {
                for i in 0..<total { try await stream.send(K.encode(K.Hello(name: "m\(i)"))) }
                try await stream.finishSending()
            }
            var got: [String] = []
            while let m = try await stream.receive() { got.append(try K.json.decode(K.Reply.self, from: m).message) }
            try await sender.value
            #expect(got == (0..<total).map { "m\($0)" })
            await client.shutdown()
            await server.stop()
        }

        @Test func emptyStreams() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let countdown = try await open(client, server, "Test.Countdown")
            try await countdown.send(K.encode(K.Count(from: 0)))
            try await countdown.finishSending()
            #expect(try await countdown.receive() == nil)

            let sum = try await open(client, server, "Test.Sum")
            try await sum.finishSending()
            let total = try #require(try await sum.receive())
            #expect(try K.json.decode(K.Tick.self, from: total).n == 0)
            #expect(try await sum.receive() == nil)

            let echo = try await open(client, server, "Test.Echo")
            try await echo.finishSending()
            #expect(try await echo.receive() == nil)
            #expect(try await echo.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func handlerErrorMidStreamArrivesAfterTheMessagesSent() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.FailAfter3")
            try await stream.send(K.encode(K.Count(from: 0)))
            try await stream.finishSending()
            var got: [Int] = []
            let error = await K.caught { while let m = try await stream.receive() { got.append(try K.json.decode(K.Tick.self, from: m).n) } }
            #expect(got == [0, 1, 2])
            let e = try #require(error as? MicroError, "got \(String(describing: error))")
            #expect(e.id == "test" && e.code == 409 && e.detail == "stopped after 3")
            await client.shutdown()
            await server.stop()
        }

        @Test func unknownStreamEndpointIs404() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Nope.Stream")
            let error = await K.caught { _ = try await stream.receive() }
            #expect((error as? MicroError)?.code == 404, "got \(String(describing: error))")
            #expect((error as? MicroError)?.detail.contains("Nope.Stream") == true)
            await client.shutdown()
            await server.stop()
        }

        @Test func unaryEndpointCalledAsAStream() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Hello")
            try await stream.send(K.encode(K.Hello(name: "s")))
            try await stream.finishSending()
            let reply = try #require(try await stream.receive())
            #expect(try K.json.decode(K.Reply.self, from: reply) == K.Reply(message: "Hello s"))
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func concurrentStreams() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 1...20 {
                    group.addTask {
                        let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Countdown", isStream: true), to: server.address)
                        try await stream.send(K.json.encode(K.Count(from: i)))
                        try await stream.finishSending()
                        var n = 0
                        while try await stream.receive() != nil { n += 1 }
                        return n
                    }
                }
                var total = 0
                for try await n in group { total += n }
                #expect(total == 210)
            }
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            await client.shutdown()
            await server.stop()
        }

        @Test(.timeLimit(.minutes(1)))
        func slowReaderBoundsTheServersWriter() async throws {
            let nats = try await NATSServerProcess()
            let sent = K.Box(0)
            let server = try await Self.server(nats, sent: sent)
            let client = client(nats)
            let total = 2_000
            let stream = try await open(client, server, "Test.Flood")
            try await stream.send(K.encode(K.Count(from: total)))
            try await stream.finishSending()
            var received = 0
            for _ in 0..<10 {
                _ = try #require(try await stream.receive())
                received += 1
            }
            // The client stops reading: the handler's sends stall within one window of what was read.
            try await Task.sleep(for: .milliseconds(300))
            let stalledAt = sent.value
            try await Task.sleep(for: .milliseconds(200))
            #expect(sent.value == stalledAt, "the writer kept going while nobody read")
            let window = NATSTransportConfiguration().streamWindow
            #expect(stalledAt <= received + window + 1, "the writer got \(stalledAt) messages ahead of a reader that took \(received)")
            let inFlight = (stream as! NATSClientStream).flow.buffered
            #expect(inFlight <= window)
            // Reading again lets it finish, in order.
            while let m = try await stream.receive() {
                #expect(m.readableBytes == 1024)
                #expect(m.getInteger(at: m.readerIndex, as: UInt32.self) == UInt32(received))
                received += 1
            }
            #expect(received == total)
            #expect(sent.value == total)
            await client.shutdown()
            await server.stop()
        }

        @Test(.timeLimit(.minutes(1)))
        func slowHandlerBoundsTheClientsSender() async throws {
            let nats = try await NATSServerProcess()
            let read = K.Box(0)
            let server = try await Self.server(nats, sent: read)
            let client = client(nats)
            let stream = try await open(client, server, "Test.SlowDrain")
            let sentByClient = K.Box(0)
            let sender = Task {
                let message = ByteBuffer(repeating: 0x61, count: 512)
                for _ in 0..<200 {
                    try await stream.send(message)
                    sentByClient.update { $0 += 1 }
                }
                try await stream.finishSending()
            }
            try await Task.sleep(for: .milliseconds(600))
            // The handler read 11 and sleeps: the sender stops within a window of that.
            let window = NATSTransportConfiguration().streamWindow
            #expect(sentByClient.value <= read.value + window + 1, "sender at \(sentByClient.value), reader at \(read.value)")
            #expect(sentByClient.value < 200)
            sender.cancel()
            stream.cancel()
            _ = await sender.result
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            await client.shutdown()
            await server.stop()
        }

        @Test func clientCancellingMidStreamStopsAWritingHandler() async throws {
            let nats = try await NATSServerProcess()
            let exits = Exits()
            let server = try await Self.server(nats, exits: exits)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Forever")
            try await stream.send(K.encode(K.Count(from: 0)))
            for _ in 0..<5 { _ = try #require(try await stream.receive()) }
            let cancelledAt = ContinuousClock.now
            stream.cancel()
            #expect(await K.eventually(within: .seconds(2)) { exits.at("forever") != nil })
            if let exit = exits.at("forever") { #expect(exit - cancelledAt < .seconds(1)) }
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            await (stream as! NATSClientStream).waitUntilClosed()
            await client.shutdown()
            await server.stop()
        }

        @Test func clientCancellingMidStreamCancelsAWaitingHandler() async throws {
            let nats = try await NATSServerProcess()
            let exits = Exits()
            let server = try await Self.server(nats, exits: exits)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Park")
            try await stream.send(K.encode(K.Count(from: 0)))
            try await stream.finishSending()
            _ = try #require(try await stream.receive())
            let cancelledAt = ContinuousClock.now
            stream.cancel()
            #expect(await K.eventually(within: .seconds(2)) { exits.at("park") != nil })
            if let exit = exits.at("park") { #expect(exit - cancelledAt < .seconds(1)) }
            let after = await K.caught { _ = try await stream.receive() }
            #expect(after is CancellationError, "got \(String(describing: after))")
            await client.shutdown()
            await server.stop()
        }

        @Test func cancellingTheReceivingTaskEndsTheStream() async throws {
            let nats = try await NATSServerProcess()
            let exits = Exits()
            let server = try await Self.server(nats, exits: exits)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Park")
            try await stream.send(K.encode(K.Count(from: 0)))
            try await stream.finishSending()
            _ = try #require(try await stream.receive())
            let reader = Task { try await stream.receive() }
            try await Task.sleep(for: .milliseconds(50))
            reader.cancel()
            if case .success = await reader.result { Issue.record("a cancelled receive returned a message") }
            #expect(await K.eventually(within: .seconds(2)) { exits.at("park") != nil })
            await client.shutdown()
            await server.stop()
        }

        @Test func aClientThatVanishesFreesTheServerSide() async throws {
            // The caller's process dies mid-stream: no cancel frame, its connection just goes. The
            // server's keepalive probe finds the inbox without subscriber and ends the handler.
            let nats = try await NATSServerProcess()
            let exits = Exits()
            var config = NATSTransportConfiguration()
            config.keepaliveInterval = .milliseconds(200)
            let server = try await Self.server(nats, exits: exits, configuration: config)
            let doomed = try await K.connect(nats, name: "doomed")
            let client = NATSClientTransport(connection: doomed, configuration: config, logger: K.logger)
            let stream = try await open(client, server, "Test.Park")
            try await stream.send(K.encode(K.Count(from: 0)))
            _ = try #require(try await stream.receive())
            await doomed.close()
            #expect(await K.eventually(within: .seconds(3)) { exits.at("park") != nil })
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            await server.stop()
        }

        @Test func aServerThatVanishesFailsTheClientsStream() async throws {
            let nats = try await NATSServerProcess()
            var config = NATSTransportConfiguration()
            config.keepaliveInterval = .milliseconds(200)
            let server = try await Self.server(nats, configuration: config)
            let client = client(nats, configuration: config)
            let stream = try await open(client, server, "Test.Park")
            try await stream.send(K.encode(K.Count(from: 0)))
            _ = try #require(try await stream.receive())
            await server.connection.close()   // the server process "dies"
            var error: (any Error)?
            let took = await K.elapsed { error = await K.caught { _ = try await stream.receive() } }
            #expect((error as? TransportError)?.code == .connectionClosed, "got \(String(describing: error))")
            #expect(took < .seconds(2))
            await client.shutdown()
            await server.stop()
        }

        @Test func streamDeadlineIsATimeout() async throws {
            let nats = try await NATSServerProcess()
            let exits = Exits()
            let server = try await Self.server(nats, exits: exits)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Park", deadline: .now() + .milliseconds(400))
            try await stream.send(K.encode(K.Count(from: 0)))
            try await stream.finishSending()
            _ = try #require(try await stream.receive())
            var error: (any Error)?
            let took = await K.elapsed { error = await K.caught { _ = try await stream.receive() } }
            #expect((error as? TransportError)?.code == .timeout, "got \(String(describing: error))")
            #expect(took < .milliseconds(800))
            // The server had the deadline too and cancelled the handler.
            #expect(await K.eventually(within: .seconds(2)) { exits.at("park") != nil })
            #expect(await K.eventually { server.natsListener.activeCalls == 0 })
            await client.shutdown()
            await server.stop()
        }

        @Test func streamMessagesAreBoundedInSize() async throws {
            let nats = try await NATSServerProcess(arguments: try K.serverConfig("max_payload: 8192"))
            let server = try await Self.server(nats)
            let client = client(nats)
            let stream = try await open(client, server, "Test.Echo")
            let error = await K.caught { try await stream.send(ByteBuffer(repeating: 0x61, count: 10_000)) }
            #expect((error as? MicroError)?.code == 413, "got \(String(describing: error))")
            stream.cancel()
            await client.shutdown()
            await server.stop()
        }

        // MARK: Shutdown

        @Test func shutdownLetsCallsInFlightFinishWithinGrace() async throws {
            let nats = try await NATSServerProcess()
            let server = try await NATSTestServer.start(nats) { router in
                router.handle("Test.Slow") { (_: K.Hello, _: HandlerContext) -> K.Reply in
                    try await Task.sleep(for: .milliseconds(300))
                    return K.Reply(message: "done")
                }
            }
            let client = client(nats)
            let call = Task { try await client.call(try hello("x", endpoint: "Test.Slow"), to: server.address) }
            #expect(await K.eventually { server.natsListener.activeCalls == 1 })
            await server.listener.shutdown(gracePeriod: .seconds(2))
            let reply = try await call.value
            #expect(try K.json.decode(K.Reply.self, from: reply.body).message == "done")
            // After shutdown nobody listens.
            let error = await K.caught { _ = try await client.call(try hello("y"), to: server.address) }
            #expect((error as? TransportError)?.code == .connectFailed, "got \(String(describing: error))")
            await server.task.value
            await client.shutdown()
            await server.connection.close()
        }

        @Test func transportFromOptionsOwnsItsConnections() async throws {
            let nats = try await NATSServerProcess()
            let router = Router(serviceName: "owned", logger: K.logger)
            router.handle("Owned.Ping") { (_: K.Hello, _: HandlerContext) -> K.Reply in K.Reply(message: "pong") }
            let transport = NATSServerTransport(options: NATSOptions(servers: [nats.url]), logger: K.logger)
            #expect(transport.protocolName == "nats")
            let listener = try await transport.listen(on: "127.0.0.1:0", handler: router)
            let run = Task { try await listener.run() }
            let client = client(nats)
            let reply = try await client.call(RPCRequest(service: "owned", endpoint: "Owned.Ping", body: try K.encode(K.Hello(name: "x"))), to: listener.address)
            #expect(try K.json.decode(K.Reply.self, from: reply.body).message == "pong")
            await listener.shutdown(gracePeriod: .seconds(1))
            try await run.value
            await client.shutdown()
            let error = await K.caught { _ = try await client.call(RPCRequest(service: "owned", endpoint: "Owned.Ping"), to: listener.address) }
            #expect((error as? TransportError)?.code == .shutdown, "got \(String(describing: error))")
        }

        @Test func listenerServesAgainAfterAServerRestart() async throws {
            let nats = try await NATSServerProcess()
            let server = try await Self.server(nats)
            let client = client(nats)
            _ = try await client.call(hello("before"), to: server.address)
            nats.stop()
            try await nats.start()
            let back = await K.eventually(within: .seconds(10)) {
                (try? await client.call(try hello("after", deadline: .now() + .milliseconds(500)), to: server.address)) != nil
            }
            #expect(back)
            await client.shutdown()
            await server.stop()
        }
    }
}
