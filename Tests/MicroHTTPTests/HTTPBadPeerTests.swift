import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

/// Peers that misbehave: malformed HTTP, garbage stream frames, idle and trickling connections, floods.
extension HTTPTransportSuite {
    /// None of them may crash the process or stop the server answering others.
    @Suite struct HTTPBadPeerTests {
        @Test(arguments: [
            "GARBAGE\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
            "POST / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "\u{0}\u{1}\u{2}\u{ff}\u{fe} binary junk\r\n\r\n",
        ])
        func malformedHTTPClosesTheConnection(_ bytes: String) async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            try? await raw.send(bytes)
            #expect(await raw.waitClosed(), "connection still open after \(bytes.debugDescription)")
            if let r = RawResponse.parse(raw.received) { #expect(r.status == 400) }
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func oversizedHeadersCloseTheConnection() async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            var text = "POST / HTTP/1.1\r\nHost: a\r\n"
            for i in 0..<4000 { text += "X-Filler-\(i): \(String(repeating: "f", count: 50))\r\n" }
            try? await raw.send(text)
            #expect(await raw.waitClosed())
            try await expectStillServing(server)
            await server.stop()
        }

        @Test(arguments: ["99999999999999999999999", "9223372036854775807", "-5", "abc", ""])
        func oddTimeoutHeadersAreTolerated(_ value: String) async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            let body = "{\"name\":\"t\"}"
            try await raw.send("POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Hello\r\nTimeout: \(value)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let r = try #require(await raw.response())
            #expect(r.status == 200)
            #expect(r.bodyText == "{\"message\":\"Hello t\"}")
            raw.close()
            await server.stop()
        }

        /// Pipelined requests (one write, 20 requests) are all answered, in order, on one connection:
        /// the first few inline on the event loop, the rest once the nesting limit is reached.
        @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
            let server = try await TestServer.start()
            let raw = try await RawConnection.connect(server.address)
            var text = ""
            for i in 0..<20 {
                let body = "{\"name\":\"p\(i)\"}"
                text += "POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Hello\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            try await raw.send(text)
            let expected = (0..<20).map { "{\"message\":\"Hello p\($0)\"}" }
            let complete = await eventually(within: .seconds(5)) {
                expected.allSatisfy { raw.text.contains($0) }
            }
            #expect(complete)
            let positions = expected.compactMap { raw.text.range(of: $0)?.lowerBound }
            #expect(positions.count == 20 && positions == positions.sorted())
            #expect(raw.text.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 20)
            #expect(!raw.isClosed)
            raw.close()
            await server.stop()
        }

        /// Sends a streaming request whose body is `body` (already chunk-encoded), returns the response frames.
        func rawStream(_ server: TestServer, endpoint: String, body: [UInt8]) async throws -> (response: RawResponse, frames: [(flag: UInt8, payload: String)]) {
            let raw = try await RawConnection.connect(server.address)
            defer { raw.close() }
            try await raw.send(Array(("POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: \(endpoint)\r\nMicro-Stream: \(endpoint)\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").utf8) + body)
            let r = try #require(await raw.response())
            return (r, frames(r.body))
        }

        @Test func unknownFrameFlagFromTheClientEndsTheStreamWithAnError() async throws {
            let server = try await TestServer.start()
            let body = chunk(frame(0, Array("{\"n\":1}".utf8))) + chunk(frame(9, Array("junk".utf8))) + Array("0\r\n\r\n".utf8)
            let (r, fs) = try await rawStream(server, endpoint: "Test.Sum", body: body)
            #expect(r.status == 200)
            let last = try #require(fs.last)
            #expect(last.flag == 2)
            let e = MicroError.parse(last.payload)
            #expect(e.code == 400, "got \(e)")
            #expect(e.detail.contains("flag"))
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func truncatedFrameThenEndFromTheClientEndsTheStreamWithAnError() async throws {
            let server = try await TestServer.start()
            // A frame that announces 10 bytes, carries 3, then the body ends.
            let body = chunk([0, 0, 0, 0, 10] + Array("abc".utf8)) + Array("0\r\n\r\n".utf8)
            let (r, fs) = try await rawStream(server, endpoint: "Test.Sum", body: body)
            #expect(r.status == 200)
            let last = try #require(fs.last)
            #expect(last.flag == 2)
            let e = MicroError.parse(last.payload)
            #expect(e.code == 400, "got \(e)")
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func undecodableStreamMessageIs400() async throws {
            let server = try await TestServer.start()
            let body = chunk(frame(0, Array("{not json".utf8))) + chunk(frame(1, [])) + Array("0\r\n\r\n".utf8)
            let (_, fs) = try await rawStream(server, endpoint: "Test.Sum", body: body)
            let last = try #require(fs.last)
            #expect(last.flag == 2)
            #expect(MicroError.parse(last.payload).code == 400)
            await server.stop()
        }

        @Test func framesSplitAcrossChunksAreReassembled() async throws {
            let server = try await TestServer.start()
            // Three frames cut at awkward places: inside a header, inside a payload.
            let all = frame(0, Array("{\"n\":4}".utf8)) + frame(0, Array("{\"n\":5}".utf8)) + frame(1, [])
            let body = chunk(Array(all[0..<3])) + chunk(Array(all[3..<9])) + chunk(Array(all[9...])) + Array("0\r\n\r\n".utf8)
            let (r, fs) = try await rawStream(server, endpoint: "Test.Sum", body: body)
            #expect(r.status == 200)
            #expect(fs.map(\.flag) == [0, 1])
            #expect(fs.first?.payload == "{\"n\":9}")
            await server.stop()
        }

        // MARK: Garbage from a server

        func streamFrom(_ bytes: [UInt8]) async throws -> (any Error)? {
            let scripted = try await ScriptedServer.start { _ in .replyAndClose(bytes) }
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "s", endpoint: "S.S", isStream: true), to: scripted.address)
            try await stream.finishSending()
            let error = await caught { while try await stream.receive() != nil {} }
            await client.shutdown()
            await scripted.stop()
            return error
        }

        @Test func malformedAnswerFromTheServerIsAProtocolViolation() async throws {
            let error = try await streamFrom(streamMessage("{}") + Array("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".utf8))
            #expect((error as? TransportError)?.code == .protocolViolation, "got \(String(describing: error))")
        }

        @Test func truncatedAnswerFromTheServerIsAStreamError() async throws {
            let error = try await streamFrom(Array("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"n\"".utf8))
            #expect(error is TransportError, "got \(String(describing: error))")
        }

        @Test func streamEndingWithoutItsFinalMessageIsAStreamError() async throws {
            let error = try await streamFrom(streamMessage("{}"))
            #expect((error as? TransportError)?.code == .connectionClosed, "got \(String(describing: error))")
        }

        @Test func streamRefusedWithMicroErrorHeader() async throws {
            let e = MicroError(id: "srv", code: 403, detail: "no streams for you")
            let error = try await streamFrom(httpResponse(status: 403, headers: [("Micro-Error", e.json)], body: Array(e.json.utf8)))
            #expect(error as? MicroError == e, "got \(String(describing: error))")
        }

        @Test func oversizedAnswerAnnouncedByTheServerIsRefused() async throws {
            // A head that announces 4 GiB: refused at once, nothing buffered.
            let error = try await streamFrom(Array("HTTP/1.1 200 OK\r\nContent-Length: 4294967295\r\n\r\n{".utf8))
            #expect((error as? TransportError)?.code == .messageTooLarge, "got \(String(describing: error))")
        }

        // MARK: Slow and idle peers

        @Test func idleConnectionIsClosedAfterIdleTimeout() async throws {
            let server = try await TestServer.start(configuration: HTTPTransportConfiguration(idleTimeout: .milliseconds(300)))
            let raw = try await RawConnection.connect(server.address)
            let opened = ContinuousClock.now
            #expect(await raw.waitClosed(within: .seconds(2)))
            let took = ContinuousClock.now - opened
            #expect(took >= .milliseconds(250) && took < .seconds(1), "closed after \(took)")

            // Also after a served request.
            let raw2 = try await RawConnection.connect(server.address)
            let body = "{\"name\":\"i\"}"
            try await raw2.send("POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Hello\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(await raw2.response()?.status == 200)
            #expect(await raw2.waitClosed(within: .seconds(2)))
            await server.stop()
        }

        @Test func quietStreamOutlivesIdleTimeout() async throws {
            // A stream whose messages are further apart than the idle timeout is still a request in flight;
            // once a message went through, the read timeout no longer applies either.
            let server = try await TestServer.start(configuration: HTTPTransportConfiguration(idleTimeout: .milliseconds(200),
                                                                                              requestReadTimeout: .milliseconds(200)))
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: server.address)
            for i in 0..<2 {
                try await stream.send(encode(Hello(name: "q\(i)")))
                let reply = try #require(try await stream.receive())
                #expect(try json.decode(Reply.self, from: reply).message == "q\(i)")
                try await Task.sleep(for: .milliseconds(400))
            }
            try await stream.finishSending()
            #expect(try await stream.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func tricklingClientIsCutOffAfterRequestReadTimeout() async throws {
            let server = try await TestServer.start(configuration: HTTPTransportConfiguration(requestReadTimeout: .milliseconds(500)))
            let raw = try await RawConnection.connect(server.address)
            let request = Array("POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Hello\r\nContent-Length: 2\r\n\r\n{}".utf8)
            let started = ContinuousClock.now
            var sent = 0
            while !raw.isClosed && sent < request.count && ContinuousClock.now - started < .seconds(3) {
                do { try await raw.send([request[sent]]) } catch { break }
                sent += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(await raw.waitClosed(within: .seconds(1)))
            let took = ContinuousClock.now - started
            #expect(took >= .milliseconds(450) && took < .milliseconds(1200), "cut off after \(took)")
            #expect(sent < request.count)
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func slowButSteadyRequestWithinTheTimeoutIsServed() async throws {
            let server = try await TestServer.start(configuration: HTTPTransportConfiguration(requestReadTimeout: .milliseconds(500)))
            let raw = try await RawConnection.connect(server.address)
            let body = "{\"name\":\"s\"}"
            let request = "POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Hello\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let half = request.index(request.startIndex, offsetBy: request.count / 2)
            try await raw.send(String(request[..<half]))
            try await Task.sleep(for: .milliseconds(200))
            try await raw.send(String(request[half...]))
            #expect(await raw.response()?.bodyText == "{\"message\":\"Hello s\"}")
            // The timer starts again with the next request, not from the first.
            try await Task.sleep(for: .milliseconds(400))
            try await raw.send(String(request[..<half]))
            try await Task.sleep(for: .milliseconds(200))
            try await raw.send(String(request[half...]))
            #expect(await eventually { raw.text.components(separatedBy: "Hello s").count == 3 })
            #expect(!raw.isClosed)
            raw.close()
            await server.stop()
        }

        @Test func manyConcurrentConnectionsThenAllClose() async throws {
            let server = try await TestServer.start()
            let http = httpServer(server.listener)
            var connections: [RawConnection] = []
            for _ in 0..<200 { connections.append(try await RawConnection.connect(server.address)) }
            #expect(await eventually { http.openConnections == 200 }, "open: \(http.openConnections)")
            // Half of them send half a request first.
            for c in connections.prefix(100) { try await c.send("POST / HTTP/1.1\r\nHost: a\r\nMicro-End") }
            for c in connections { c.close() }
            #expect(await eventually { http.openConnections == 0 }, "still open: \(http.openConnections)")
            try await expectStillServing(server)
            await server.stop()
        }

        @Test func connectionsOverTheLimitAreClosedOnAccept() async throws {
            let server = try await TestServer.start(configuration: HTTPTransportConfiguration(maxConnections: 5))
            let http = httpServer(server.listener)
            var connections: [RawConnection] = []
            for _ in 0..<5 { connections.append(try await RawConnection.connect(server.address)) }
            #expect(await eventually { http.openConnections == 5 })
            let extra = try await RawConnection.connect(server.address)
            #expect(await extra.waitClosed())
            for c in connections { c.close() }
            #expect(await eventually { http.openConnections == 0 })
            try await expectStillServing(server)
            await server.stop()
        }
    }
}
