import Foundation
import MicroAddress
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

extension HTTPTransportSuite {
    /// Hostile and careless callers, each attack bounded and on 127.0.0.1: the server must stay
    /// bounded in memory, connections and time.
    @Suite struct HTTPAbuseTests {
        static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

        /// A DATA frame on stream 0 is an HTTP/2 connection error: the server says GOAWAY and closes,
        /// instead of reading (and buffering) whatever the peer sends next.
        @Test func h2ConnectionErrorClosesTheConnection() async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            let emptySettings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
            let dataOnStreamZero: [UInt8] = [0, 0, 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
            try await raw.send(Self.preface + emptySettings + dataOnStreamZero)
            // Then a flood; the server must be gone long before it ends.
            let junk = [UInt8](repeating: 0x41, count: 64 * 1024)
            for _ in 0..<64 where !raw.isClosed {
                do { try await raw.send(junk) } catch { break }
            }
            #expect(await raw.waitClosed(within: .seconds(2)))
            try await expectStillServing(server)
            await server.stop()
        }

        /// An HTTP/2 request whose body stops coming is reset after the read timeout (the peer's
        /// PINGs or other streams do not keep it).
        @Test func h2RequestBodyHasAReadTimeout() async throws {
            var configuration = HTTPTransportConfiguration()
            configuration.requestReadTimeout = .milliseconds(300)
            let server = try await TestServer.start(configuration: configuration)
            let h2 = try await HTTP2Connection.connect(to: server.address, timeout: .seconds(2))
            let exchange = try await h2.openExchange()
            let headers = mucpCallHeaders("Test.Hello", length: 100)
            try await exchange.write(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: headers)))
            try await exchange.write(.body(.byteBuffer(ByteBuffer(string: "{\"name\":"))))
            let started = ContinuousClock.now
            let ended = await attempt { try await exchange.next() }
            // The stream is reset: its parts end (or fail) without an answer.
            if case .success(let part) = ended { #expect(part == nil, "got \(String(describing: part))") }
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(h2.isActive, "only the stream is reset, not the connection")
            h2.close()
            await server.stop()
        }

        /// A stream request that stops after its head (framed, chunked) or after its opener (go-micro's
        /// form) is timed like a request being read: it cannot hold a connection slot forever.
        @Test(arguments: ["framed head only", "go-micro opener only"])
        func unusedStreamIsCutOffAfterTheReadTimeout(_ kind: String) async throws {
            var configuration = HTTPTransportConfiguration()
            configuration.requestReadTimeout = .milliseconds(300)
            let server = try await TestServer.start(configuration: configuration)
            let raw = try await RawConnection.connect(server.address)
            let head = "POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Echo\r\nMicro-Stream: 1\r\nContent-Type: application/json\r\n"
            try await raw.send(head + (kind == "framed head only" ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: 0\r\n\r\n"))
            let started = ContinuousClock.now
            #expect(await raw.waitClosed(within: .seconds(3)))
            #expect(ContinuousClock.now - started < .seconds(2))
            await server.stop()
        }

        /// A caller that pipelines requests without reading the answers stops being read once the
        /// answers back up: the server does not answer (and buffer) all of them.
        @Test func pipeliningWithoutReadingIsBounded() async throws {
            let served = Shared(0)
            let server = try await TestServer.start { router in
                router.handle("Test.Big") { (_: Hello, _: HandlerContext) -> ByteBuffer in
                    served.update { $0 += 1 }
                    return ByteBuffer(repeating: 0x61, count: 64 * 1024)
                }
            }
            let total = 1000
            let target = try HostPort(parsing: server.address)
            let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: false)
                .connect(host: target.host, port: target.port).get()
            let body = "{\"name\":\"p\"}"
            let one = "POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Big\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            try await silent.writeAndFlush(ByteBuffer(string: String(repeating: one, count: total))).get()
            // Let the server answer what it will, until the count settles.
            var last = -1
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(100))
                let now = served.value
                if now == last && now > 0 { break }
                last = now
            }
            #expect(served.value < total / 2, "answered \(served.value) of \(total) without the caller reading")
            // Reading again, the caller gets every answer.
            try await silent.setOption(.autoRead, value: true).get()
            silent.read()
            #expect(await eventually(within: .seconds(20)) { served.value == total }, "answered \(served.value)")
            try await silent.close()
            await server.stop()
        }

        /// `Transfer-Encoding` is `chunked` or absent: a list (how requests are smuggled past a proxy
        /// that reads it differently) is refused with a 400 and the connection closed.
        @Test(arguments: ["Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: identity, chunked\r\n",
                          "Transfer-Encoding: gzip, chunked\r\n"])
        func transferEncodingListsAreRefused(_ header: String) async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("POST /Test/Hello HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n\(header)\r\n"
                + "c\r\n{\"name\":\"a\"}\r\n0\r\n\r\n")
            let r = try #require(await raw.response())
            #expect(r.status == 400)
            #expect(await raw.waitClosed())
            await server.stop()
        }

        /// A stream request with `Connection: close` closes the connection when the stream ends.
        @Test func streamHonoursConnectionClose() async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Countdown\r\nMicro-Stream: 1\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
            try await raw.send(chunk(frame(0, Array("{\"from\":2}".utf8))) + Array("0\r\n\r\n".utf8))
            #expect(await raw.waitClosed())
            let r = try #require(RawResponse.parse(raw.received))
            #expect(r.headers["connection"] == "close")
            #expect(frames(r.body).map(\.flag) == [0, 0, 1])
            await server.stop()
        }
    }
}
