import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// maxMessageSize, enforced by both sides, for whole messages and for stream messages.
    @Suite struct HTTPSizeLimitTests {
        static let limit = 64 * 1024
        static let small = HTTPTransportConfiguration(maxMessageSize: limit)

        /// A Hello whose JSON encoding is exactly `size` bytes.
        static func helloJSON(size: Int) -> String {
            let overhead = "{\"name\":\"\"}".utf8.count
            return "{\"name\":\"" + String(repeating: "x", count: size - overhead) + "\"}"
        }

        static func server(_ configuration: HTTPTransportConfiguration) async throws -> TestServer {
            try await TestServer.start(configuration: configuration) { router in
                router.handle("Test.Big") { (h: Hello, _: HandlerContext) -> Reply in
                    Reply(message: String(repeating: "y", count: Int(h.name) ?? 0))
                }
                router.handle("Test.BigStream") { (h: Hello, stream: ServerStream<Reply>, _: HandlerContext) in
                    try await stream.send(Reply(message: "small"))
                    try await stream.send(Reply(message: String(repeating: "z", count: Int(h.name) ?? 0)))
                    try await stream.send(Reply(message: "after"))
                }
            }
        }

        @Test func clientRejectsOversizedRequestBeforeSending() async throws {
            let scripted = try await ScriptedServer.start { _ in .reply(httpResponse(body: Array("{}".utf8))) }
            let client = HTTPClientTransport(configuration: Self.small)
            let body = ByteBuffer(string: Self.helloJSON(size: Self.limit + 1))
            let error = await caught { _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: body), to: scripted.address) }
            let e = try #require(error as? MicroError, "got \(String(describing: error))")
            #expect(e.code == 413)
            #expect(e.status == "Request Entity Too Large")
            try await Task.sleep(for: .milliseconds(20))
            #expect(scripted.connections == 0)
            #expect(scripted.requests.isEmpty)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func requestOfExactlyTheLimitIsServed() async throws {
            let server = try await Self.server(Self.small)
            // The reply ("Hello " + name) is a little larger than the limit: the client allows more.
            let client = HTTPClientTransport()
            let text = Self.helloJSON(size: Self.limit)
            #expect(text.utf8.count == Self.limit)
            let r = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: ByteBuffer(string: text)), to: server.address)
            #expect(try json.decode(Reply.self, from: r.body).message.count == Self.limit - 11 + 6)
            await client.shutdown()
            await server.stop()
        }

        @Test func serverRejectsDeclaredOversizedRequestAndCloses() async throws {
            let server = try await Self.server(Self.small)
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("POST /Test/Hello HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000000\r\n\r\n" + String(repeating: "a", count: 4096))
            let r = try #require(await raw.response())
            #expect(r.status == 413)
            #expect(MicroError.parse(try #require(r.headers["micro-error"])).code == 413)
            #expect(r.headers["connection"]?.lowercased() == "close")
            #expect(await raw.waitClosed())
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func refusedUploadIsDrainedSoTheCallerCanFinishSendingThenCloses() async throws {
            let server = try await Self.server(Self.small)
            let raw = try await RawConnection.connect(server.address)
            let declared = Self.limit + 100 * 1024
            try await raw.send("POST /Test/Hello HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(declared)\r\n\r\n")
            // The 413 comes at once (the declared length is over the limit) ...
            let r = try #require(await raw.response())
            #expect(r.status == 413)
            // ... and the server keeps reading what the caller still sends (within its drain budget),
            // so the upload ends without a reset, and only then does the connection close.
            try await Task.sleep(for: .milliseconds(100))
            #expect(!raw.isClosed)
            let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 16 * 1024)
            var sent = 0
            while sent < declared {
                let n = min(piece.count, declared - sent)
                try await raw.send(Array(piece[0..<n]))
                sent += n
            }
            #expect(await raw.waitClosed())
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func serverRejectsChunkedOversizedRequestAndCloses() async throws {
            let server = try await Self.server(Self.small)
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("POST /Test/Hello HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
            // 5 chunks of 16 KiB: 80 KiB without any declared length.
            let piece = chunk([UInt8](repeating: UInt8(ascii: "a"), count: 16 * 1024))
            var sendFailed = false
            for _ in 0..<5 {
                do { try await raw.send(piece) } catch { sendFailed = true; break }
            }
            if !sendFailed { try? await raw.send(Array("0\r\n\r\n".utf8)) }
            let r = try #require(await raw.response())
            #expect(r.status == 413)
            #expect(MicroError.parse(r.bodyText).code == 413)
            #expect(await raw.waitClosed())
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func curlSeesThe413ForAnOversizedBody() async throws {
            let server = try await Self.server(Self.small)
            // 256 KiB: the server answers before the body is all read; the client still gets the answer.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("micro-big-\(UUID().uuidString).json")
            try Data(Self.helloJSON(size: 256 * 1024).utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            guard let result = try await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
                                              "-H", "Content-Type: application/json", "--data-binary", "@\(file.path)", "http://\(server.address)/Test/Hello"]) else { return }
            #expect(result.stdout == "413", "curl printed \(result.stdout), stderr \(result.stderr)")
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func responseOverTheClientsLimitIsATypedError() async throws {
            let server = try await Self.server(HTTPTransportConfiguration())
            let client = HTTPClientTransport(configuration: Self.small)
            let error = await caught {
                _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Big", body: try encode(Hello(name: "100000"))), to: server.address)
            }
            let e = try #require(error as? MicroError, "got \(String(describing: error))")
            #expect(e.code == 413)
            // The half-read connection is not reused; the next call works on a fresh one.
            let ok = try await client.call(RPCRequest(service: "test", endpoint: "Test.Big", body: try encode(Hello(name: "10"))), to: server.address)
            #expect(try json.decode(Reply.self, from: ok.body).message.count == 10)
            await client.shutdown()
            await server.stop()
        }

        @Test func streamMessageOverTheLimitIsRefusedBeforeSending() async throws {
            let server = try await Self.server(HTTPTransportConfiguration())
            let client = HTTPClientTransport(configuration: Self.small)
            let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: server.address)
            let error = await caught { try await stream.send(ByteBuffer(string: Self.helloJSON(size: Self.limit + 1))) }
            #expect((error as? MicroError)?.code == 413, "got \(String(describing: error))")
            // The stream is still usable after a refused send.
            try await stream.send(encode(Hello(name: "fits")))
            try await stream.finishSending()
            let reply = try #require(try await stream.receive())
            #expect(try json.decode(Reply.self, from: reply).message == "fits")
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func streamMessageFromServerOverTheClientsLimitIsATypedError() async throws {
            let server = try await Self.server(HTTPTransportConfiguration())
            let client = HTTPClientTransport(configuration: Self.small)
            let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.BigStream", isStream: true), to: server.address)
            try await stream.send(encode(Hello(name: "100000")))
            try await stream.finishSending()
            let first = try #require(try await stream.receive())
            #expect(try json.decode(Reply.self, from: first).message == "small")
            let error = await caught { _ = try await stream.receive() }
            #expect((error as? TransportError)?.code == .messageTooLarge, "got \(String(describing: error))")
            // Once failed, the stream stays failed (or ended) instead of reading on.
            let again = await caught { _ = try await stream.receive() }
            #expect(again == nil || (again as? TransportError) != nil)
            // The connection was dropped: the server sees the stream's connection go.
            #expect(await eventually { httpServer(server.listener).openConnections == 0 })
            await client.shutdown()
            await server.stop()
        }

        @Test func streamMessageOverTheServersLimitEndsTheStreamWith413() async throws {
            let server = try await Self.server(Self.small)
            let client = HTTPClientTransport(configuration: HTTPTransportConfiguration())
            let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: server.address)
            try await stream.send(encode(Hello(name: "ok")))
            let first = try #require(try await stream.receive())
            #expect(try json.decode(Reply.self, from: first).message == "ok")
            try await stream.send(ByteBuffer(string: Self.helloJSON(size: Self.limit + 100)))
            let error = await caught { while try await stream.receive() != nil {} }
            let e = try #require(error as? MicroError, "got \(String(describing: error))")
            #expect(e.code == 413)
            try await expectStillServing(server)
            await client.shutdown()
            await server.stop()
        }
    }
}

/// A fresh client can still call the server.
func expectStillServing(_ server: TestServer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let client = HTTPClientTransport()
    let result = await attempt { try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "still"))), to: server.address) }
    await client.shutdown()
    let r = try result.get()
    #expect(try json.decode(Reply.self, from: r.body) == Reply(message: "Hello still"), sourceLocation: sourceLocation)
}
