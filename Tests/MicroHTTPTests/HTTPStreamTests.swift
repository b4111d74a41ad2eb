import Foundation
import MicroCore
@testable import MicroHTTP
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// Streams over HTTP: server, client and bidirectional streaming, errors, backpressure, cancellation.
    @Suite struct HTTPStreamTests {
        /// Records when (and whether) stream handlers exited.
        final class Exits: Sendable {
            let log = Shared<[String: ContinuousClock.Instant]>([:])
            func mark(_ name: String) { log.update { $0[name] = .now } }
            func at(_ name: String) -> ContinuousClock.Instant? { log.value[name] }
        }

        static func server(exits: Exits = Exits(), sent: Shared<Int> = Shared(0)) async throws -> TestServer {
            try await TestServer.start { router in
                router.handle("Test.FailAfter3") { (_: Count, stream: ServerStream<Tick>, _: HandlerContext) in
                    for n in 0..<3 { try await stream.send(Tick(n: n)) }
                    throw MicroError(id: "test", code: 409, detail: "stopped after 3")
                }
                router.handle("Test.Flood") { (c: Count, stream: ServerStream<ByteBuffer>, _: HandlerContext) in
                    // Raw 16 KiB messages (cheap to encode) numbered in their first 4 bytes.
                    var message = ByteBuffer(repeating: 0x70, count: 16 * 1024)
                    for n in 0..<c.from {
                        message.setInteger(UInt32(n), at: 0)
                        try await stream.send(message)
                        sent.update { $0 += 1 }
                    }
                }
                router.handleClientStream("Test.Drain") { (requests: RequestStream<ByteBuffer>, _: HandlerContext) -> Count in
                    var n = 0
                    for try await _ in requests { n += 1 }
                    return Count(from: n)
                }
                router.handle("Test.Forever") { (_: Count, stream: ServerStream<Tick>, _: HandlerContext) in
                    defer { exits.mark("forever") }
                    var n = 0
                    while true {
                        try await stream.send(Tick(n: n))
                        n += 1
                    }
                }
                router.handle("Test.Park") { (_: Count, stream: ServerStream<Tick>, _: HandlerContext) in
                    defer { exits.mark("park") }
                    try await stream.send(Tick(n: 1))
                    try await Task.sleep(for: .seconds(10))
                }
            }
        }

        func open(_ client: HTTPClientTransport, _ server: TestServer, _ endpoint: String, deadline: NIODeadline? = nil) async throws -> any ClientStreamChannel {
            try await client.openStream(RPCRequest(service: "test", endpoint: endpoint, deadline: deadline, isStream: true), to: server.address)
        }

        @Test func serverStreaming() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Countdown", isStream: true), to: server.address)
            try await stream.send(json.encode(Count(from: 3)))
            try await stream.finishSending()
            var ticks: [Int] = []
            while let m = try await stream.receive() { ticks.append(try json.decode(Tick.self, from: m).n) }
            #expect(ticks == [2, 1, 0])
            await client.shutdown()
            await server.stop()
        }

        @Test func clientStreaming() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Sum")
            for n in 1...10 { try await stream.send(encode(Tick(n: n))) }
            try await stream.finishSending()
            let total = try #require(try await stream.receive())
            #expect(try json.decode(Tick.self, from: total).n == 55)
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func bidiStreamingInterleaved() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Echo")
            // Each reply arrives before the next request is sent: the exchange is truly interleaved.
            for i in 0..<20 {
                try await stream.send(encode(Hello(name: "m\(i)")))
                let reply = try #require(try await stream.receive())
                #expect(try json.decode(Reply.self, from: reply).message == "m\(i)")
            }
            try await stream.finishSending()
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func emptyStreams() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()

            let countdown = try await open(client, server, "Test.Countdown")
            try await countdown.send(encode(Count(from: 0)))
            try await countdown.finishSending()
            #expect(try await countdown.receive() == nil)

            let sum = try await open(client, server, "Test.Sum")
            try await sum.finishSending()
            let total = try #require(try await sum.receive())
            #expect(try json.decode(Tick.self, from: total).n == 0)
            #expect(try await sum.receive() == nil)

            let echo = try await open(client, server, "Test.Echo")
            try await echo.finishSending()
            #expect(try await echo.receive() == nil)
            // Reading past the end stays at the end.
            #expect(try await echo.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func handlerErrorMidStreamArrivesAfterTheMessagesSent() async throws {
            let server = try await Self.server()
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.FailAfter3")
            try await stream.send(encode(Count(from: 0)))
            try await stream.finishSending()
            var got: [Int] = []
            let error = await caught { while let m = try await stream.receive() { got.append(try json.decode(Tick.self, from: m).n) } }
            #expect(got == [0, 1, 2])
            let e = try #require(error as? MicroError, "got \(String(describing: error))")
            #expect(e.id == "test" && e.code == 409 && e.detail == "stopped after 3")
            await client.shutdown()
            await server.stop()
        }

        @Test func unknownStreamEndpointIs404() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Nope.Stream")
            let error = await caught { _ = try await stream.receive() }
            #expect((error as? MicroError)?.code == 404, "got \(String(describing: error))")
            #expect((error as? MicroError)?.detail.contains("Nope.Stream") == true)
            await client.shutdown()
            await server.stop()
        }

        @Test func unaryEndpointCalledAsAStream() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Hello")
            try await stream.send(encode(Hello(name: "s")))
            try await stream.finishSending()
            let reply = try #require(try await stream.receive())
            #expect(try json.decode(Reply.self, from: reply) == Reply(message: "Hello s"))
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func streamRequestCarriesGoMicroHeaders() async throws {
            let scripted = try await ScriptedServer.start { _ in
                .reply(streamMessage("{\"n\":7}") + streamMessage("", error: "EOS"))
            }
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "svc", endpoint: "Svc.Watch", metadata: ["Trace-Id": "t9"], id: "s-1", isStream: true),
                                                     to: scripted.address)
            let first = try #require(try await stream.receive())
            #expect(String(buffer: first) == "{\"n\":7}")
            #expect(try await stream.receive() == nil)
            let seen = try #require(scripted.requests.first)
            #expect(seen.requestLine == "POST / HTTP/1.1")
            #expect(seen.header("Micro-Stream") != nil)
            #expect(seen.header("Micro-Endpoint") == "Svc.Watch")
            #expect(seen.header("Micro-Service") == "svc")
            #expect(seen.header("Micro-Id") == "s-1")
            #expect(seen.header("Trace-Id") == "t9")
            // go-micro's form: the opener is a whole request naming the stream, without a body.
            #expect(seen.header("Micro-Stream") == "s-1")
            #expect(seen.header("Content-Length") == "0")
            #expect(seen.header("Transfer-Encoding") == nil)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func concurrentStreams() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 1...20 {
                    group.addTask {
                        let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Countdown", isStream: true), to: server.address)
                        try await stream.send(json.encode(Count(from: i)))
                        try await stream.finishSending()
                        var n = 0
                        while try await stream.receive() != nil { n += 1 }
                        #expect(n == i)
                        return n
                    }
                }
                var total = 0
                for try await n in group { total += n }
                #expect(total == 210)
            }
            await client.shutdown()
            await server.stop()
        }

        @Test(.timeLimit(.minutes(1)))
        func backpressureSuspendsTheServersWriter() async throws {
            let sent = Shared(0)
            let server = try await Self.server(sent: sent)
            let client = HTTPClientTransport()
            let total = 10_000
            let stream = try await open(client, server, "Test.Flood")
            try await stream.send(encode(Count(from: total)))
            try await stream.finishSending()
            var received = 0
            for _ in 0..<10 {
                _ = try #require(try await stream.receive())
                received += 1
            }
            // The client stops reading: the handler's sends must stall. The stream is 160 MB; loopback socket
            // buffers may hold tens of MB (tcp_rmem's maximum is often 32 MB), so the writer stalls well before the end.
            try await Task.sleep(for: .milliseconds(300))
            let stalledAt = sent.value
            try await Task.sleep(for: .milliseconds(100))
            #expect(sent.value == stalledAt, "the writer kept going while nobody read")
            #expect(stalledAt < total * 3 / 4, "the writer got \(stalledAt) messages ahead of a reader that took \(received)")
            // Reading again lets it finish, in order.
            while let m = try await stream.receive() {
                #expect(m.readableBytes == 16 * 1024)
                #expect(m.getInteger(at: m.readerIndex, as: UInt32.self) == UInt32(received))
                received += 1
            }
            #expect(received == total)
            #expect(sent.value == total)
            await client.shutdown()
            await server.stop()
        }

        @Test func clientCancellingMidStreamStopsAWritingHandler() async throws {
            let exits = Exits()
            let server = try await Self.server(exits: exits)
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Forever")
            try await stream.send(encode(Count(from: 0)))
            for _ in 0..<5 { _ = try #require(try await stream.receive()) }
            let cancelledAt = ContinuousClock.now
            stream.cancel()
            #expect(await eventually(within: .seconds(2)) { exits.at("forever") != nil })
            if let exit = exits.at("forever") { #expect(exit - cancelledAt < .seconds(1)) }
            #expect(await eventually { httpServer(server.listener).openConnections == 0 })
            await client.shutdown()
            await server.stop()
        }

        @Test func clientCancellingMidStreamCancelsAWaitingHandler() async throws {
            let exits = Exits()
            let server = try await Self.server(exits: exits)
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Park")
            try await stream.send(encode(Count(from: 0)))
            try await stream.finishSending()
            _ = try #require(try await stream.receive())
            let cancelledAt = ContinuousClock.now
            stream.cancel()
            #expect(await eventually(within: .seconds(2)) { exits.at("park") != nil })
            if let exit = exits.at("park") { #expect(exit - cancelledAt < .seconds(1)) }
            await client.shutdown()
            await server.stop()
        }

        @Test func cancellingTheReceivingTaskEndsTheStream() async throws {
            let exits = Exits()
            let server = try await Self.server(exits: exits)
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Park")
            try await stream.send(encode(Count(from: 0)))
            try await stream.finishSending()
            _ = try #require(try await stream.receive())
            let reader = Task { try await stream.receive() }
            try await Task.sleep(for: .milliseconds(50))
            reader.cancel()
            let result = await reader.result
            if case .success = result { Issue.record("a cancelled receive returned a message") }
            #expect(await eventually(within: .seconds(2)) { exits.at("park") != nil })
            await client.shutdown()
            await server.stop()
        }

        @Test func streamDeadlineIsATimeout() async throws {
            let server = try await Self.server()
            let client = HTTPClientTransport()
            let stream = try await open(client, server, "Test.Park", deadline: .now() + .milliseconds(300))
            try await stream.send(encode(Count(from: 0)))
            try await stream.finishSending()
            _ = try #require(try await stream.receive())
            var error: (any Error)?
            let took = await elapsed { error = await caught { _ = try await stream.receive() } }
            // Both ends hold the deadline: the client's own timer or the server's 408 may come first.
            let timedOut = (error as? TransportError)?.code == .timeout || (error as? MicroError)?.code == 408
            #expect(timedOut, "got \(String(describing: error))")
            #expect(took < .milliseconds(600))
            await client.shutdown()
            await server.stop()
        }
    }
}

extension HTTPTransportSuite.HTTPStreamTests {
    /// Calls `Test.Hello` on `server` with a fresh client while `busy` holds (at least once, at most 2 s);
    /// returns the slowest call.
    func slowestCall(to server: TestServer, while busy: @Sendable () -> Bool) async throws -> (worst: Duration, calls: Int) {
        let other = HTTPClientTransport()
        var worst = Duration.zero
        var calls = 0
        let start = ContinuousClock.now
        while (calls == 0 || busy()) && ContinuousClock.now - start < .seconds(2) {
            let took = try await elapsed {
                _ = try await other.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "x"))), to: server.address)
            }
            worst = max(worst, took)
            calls += 1
        }
        await other.shutdown()
        return (worst, calls)
    }

    @Test func serverFloodingAStreamDoesNotStarveOtherCalls() async throws {
        // The handler writes as fast as the socket takes it (the client reads at once): the event loop
        // must still serve other connections meanwhile.
        let server = try await Self.server()
        let client = HTTPClientTransport()
        let stream = try await open(client, server, "Test.Flood")
        try await stream.send(encode(Count(from: 4_000)))
        try await stream.finishSending()
        let done = Shared(false)
        let reader = Task {
            var n = 0
            while try await stream.receive() != nil { n += 1 }
            done.update { $0 = true }
            return n
        }
        try await Task.sleep(for: .milliseconds(20))
        let (worst, calls) = try await slowestCall(to: server) { !done.value }
        // Starved, the first call waits out the whole flood and is the only one; served, calls keep going.
        #expect(calls >= 5 && worst < .milliseconds(500), "a call took \(worst) while a stream was flooding (\(calls) calls)")
        #expect(try await reader.value == 4_000)
        await client.shutdown()
        await server.stop()
    }

    @Test func clientFloodingAStreamDoesNotStarveOtherCalls() async throws {
        // The same for a caller that sends as fast as its socket takes it.
        let server = try await Self.server()
        let client = HTTPClientTransport()
        let stream = try await open(client, server, "Test.Drain")
        let message = ByteBuffer(repeating: 0x61, count: 16 * 1024)
        let done = Shared(false)
        let writer = Task {
            for _ in 0..<4_000 { try await stream.send(message) }
            done.update { $0 = true }
            try await stream.finishSending()
            return try await stream.receive()
        }
        try await Task.sleep(for: .milliseconds(20))
        let (worst, calls) = try await slowestCall(to: server) { !done.value }
        // Starved, the first call waits out the whole flood and is the only one; served, calls keep going.
        #expect(calls >= 5 && worst < .milliseconds(500), "a call took \(worst) while a client stream was flooding (\(calls) calls)")
        let total = try #require(try await writer.value)
        #expect(try json.decode(Count.self, from: total).from == 4_000)
        await client.shutdown()
        await server.stop()
    }
}
