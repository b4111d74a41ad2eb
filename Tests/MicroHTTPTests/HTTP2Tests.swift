@testable import MicroHTTP
import MicroCore
import NIOCore
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
}
