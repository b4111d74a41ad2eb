@testable import MicroHTTP
import MicroCore
import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

/// HTTP/2 over cleartext (h2c, prior knowledge): the same server port, a client that multiplexes
/// every call as a stream of one connection, and curl as a peer nobody here wrote.
@Suite struct HTTP2Tests {
    let h2 = HTTPTransportConfiguration(http2: true)

    @Test func concurrentUnaryCallsShareOneConnection() async throws {
        let server = try await TestServer.start()
        let client = HTTPClientTransport(configuration: h2)
        // One call first, so the shared connection exists before the burst.
        let first = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: "h2"))), to: server.address)
        #expect(try json.decode(Reply.self, from: first.body) == Reply(message: "Hello h2"))
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let r = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: "n\(i)"))), to: server.address)
                    return try json.decode(Reply.self, from: r.body).message
                }
            }
            var replies = Set<String>()
            for try await r in group { replies.insert(r) }
            #expect(replies.count == 50)
        }
        #expect(httpServer(server.listener).acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    @Test func errorsTravelOverHTTP2() async throws {
        let server = try await TestServer.start()
        let client = HTTPClientTransport(configuration: h2)
        await #expect(throws: MicroError.self) {
            _ = try await client.call(RPCRequest(service: "test", endpoint: "Nope.Missing", body: encode(Hello(name: "x"))), to: server.address)
        }
        do {
            _ = try await client.call(RPCRequest(service: "test", endpoint: "Nope.Missing", body: encode(Hello(name: "x"))), to: server.address)
        } catch let e as MicroError {
            #expect(e.code == 404)
            #expect(e.detail.contains("Nope.Missing"))
        }
        await client.shutdown()
        await server.stop()
    }

    @Test func serverAndBidiStreamsOverHTTP2() async throws {
        let server = try await TestServer.start()
        let client = HTTPClientTransport(configuration: h2)
        let countdown = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Countdown", isStream: true), to: server.address)
        try await countdown.send(encode(Count(from: 4)))
        try await countdown.finishSending()
        var ticks: [Int] = []
        while let m = try await countdown.receive() { ticks.append(try json.decode(Tick.self, from: m).n) }
        #expect(ticks == [3, 2, 1, 0])

        let echo = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: server.address)
        for name in ["a", "b", "c"] {
            try await echo.send(encode(Hello(name: name)))
            let reply = try #require(try await echo.receive())
            #expect(try json.decode(Reply.self, from: reply).message == name)
        }
        try await echo.finishSending()
        #expect(try await echo.receive() == nil)
        await client.shutdown()
        await server.stop()
    }

    @Test func curlWithHTTP2PriorKnowledge() async throws {
        let server = try await TestServer.start()
        let result = try await curl(["-s", "--http2-prior-knowledge", "-w", " %{http_version}",
                                     "-H", "Micro-Endpoint: Test.Hello", "-H", "Content-Type: application/json",
                                     "-d", "{\"name\":\"h2\"}", "http://\(server.address)/"])
        if let result {
            #expect(result.stdout == "{\"message\":\"Hello h2\"} 2", "got \(result.stdout) \(result.stderr)")
        }
        await server.stop()
    }

    /// A whole-message body larger than a stream's flow-control window (64 KiB) is read to its end
    /// (the server opens the window as it reads); one over the size limit is refused with a 413.
    @Test func bodiesPastTheStreamWindowAndOverTheLimit() async throws {
        var configuration = HTTPTransportConfiguration()
        configuration.maxMessageSize = 512 * 1024
        let server = try await TestServer.start(configuration: configuration)
        let client = HTTPClientTransport(configuration: h2)
        let long = String(repeating: "x", count: 300 * 1024)
        let r = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: long))), to: server.address)
        #expect(try json.decode(Reply.self, from: r.body).message == "Hello \(long)")
        let tooLong = String(repeating: "y", count: 600 * 1024)
        do {
            _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: tooLong))), to: server.address)
            Issue.record("a body over the limit was answered")
        } catch let e as MicroError {
            #expect(e.code == 413, "\(e)")
        }
        // The connection serves on.
        let after = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: "after"))), to: server.address)
        #expect(try json.decode(Reply.self, from: after.body) == Reply(message: "Hello after"))
        #expect(httpServer(server.listener).acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    /// Whole-message calls (answered on the connection) and streams (a stream channel each)
    /// interleave on one connection, each answered on its own stream.
    @Test func unaryCallsAndStreamsInterleave() async throws {
        let server = try await TestServer.start()
        let client = HTTPClientTransport(configuration: h2)
        _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: "first"))), to: server.address)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    if i % 2 == 0 {
                        let r = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: encode(Hello(name: "n\(i)"))), to: server.address)
                        #expect(try json.decode(Reply.self, from: r.body) == Reply(message: "Hello n\(i)"))
                    } else {
                        let echo = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: server.address)
                        for k in 0..<3 {
                            try await echo.send(encode(Hello(name: "s\(i).\(k)")))
                            let reply = try #require(try await echo.receive())
                            #expect(try json.decode(Reply.self, from: reply).message == "s\(i).\(k)")
                        }
                        try await echo.finishSending()
                        #expect(try await echo.receive() == nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(httpServer(server.listener).acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    /// A caller that resets its stream while the handler runs: the handler is cancelled, the
    /// connection is not busy any more (shutdown does not wait for it) and serves on.
    @Test func resetStreamCancelsItsHandler() async throws {
        let cancelled = Shared(false)
        let server = try await TestServer.start { router in
            router.handle("Test.Slow") { (_: Hello, _: HandlerContext) -> Reply in
                do { try await Task.sleep(for: .seconds(30)) } catch { cancelled.update { $0 = true } }
                return Reply(message: "late")
            }
        }
        let h2 = try await HTTP2Connection.connect(to: server.address, timeout: .seconds(2))
        let exchange = try await h2.openExchange()
        let body = ByteBuffer(string: "{\"name\":\"z\"}")
        let headers = mucpCallHeaders("Test.Slow", length: body.readableBytes)
        try await exchange.write([.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: headers)),
                                  .body(.byteBuffer(body)), .end(nil)])
        #expect(await eventually { httpServer(server.listener).isBusy })
        exchange.close()
        #expect(await eventually { cancelled.value })
        #expect(await eventually { !httpServer(server.listener).isBusy })
        #expect(h2.isActive, "only the stream is reset, not the connection")
        h2.close()
        await server.stop()
    }

    /// The request head an HTTP/2 HEADERS block makes, as NIO's codec makes it; no head without the
    /// pseudo-headers.
    @Test func requestHeadFromHeadersBlock() throws {
        let block = HPACKHeaders([(":method", "POST"), (":scheme", "http"), (":path", "/x?y"), (":authority", "h:1"),
                                  ("micro-endpoint", "Test.Hello")])
        let head = try #require(HTTP2ExchangeHandler.requestHead(block, endStream: false))
        #expect(head.method == .POST)
        #expect(head.uri == "/x?y")
        #expect(head.version.major == 2)
        #expect(head.headers.first(name: "Host") == "h:1")
        #expect(head.headers.first(name: "Micro-Endpoint") == "Test.Hello")
        #expect(head.headers.first(name: "Transfer-Encoding") == "chunked")
        let ended = HTTP2ExchangeHandler.requestHead(block, endStream: true)
        #expect(ended?.headers.first(name: "Content-Length") == "0")
        #expect(HTTP2ExchangeHandler.requestHead(HPACKHeaders([(":method", "GET"), (":scheme", "http")]), endStream: true) == nil)
        #expect(HTTP2ExchangeHandler.requestHead(HPACKHeaders([(":path", "/")]), endStream: true) == nil)
    }
}
