import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// Unary calls over ``HTTPClientTransport``: the round trip, go-micro's headers, keep-alive reuse.
    @Suite struct HTTPUnaryTests {
        func helloRequest(_ name: String, metadata: Metadata = Metadata(), deadline: NIODeadline? = nil, id: String = "") throws -> RPCRequest {
            RPCRequest(service: "test", endpoint: "Test.Hello", metadata: metadata, deadline: deadline, id: id, body: try encode(Hello(name: name)))
        }

        @Test func roundTrip() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let response = try await client.call(helloRequest("a"), to: server.address)
            #expect(try json.decode(Reply.self, from: response.body) == Reply(message: "Hello a"))
            #expect(response.contentType == "application/json")
            await client.shutdown()
            await server.stop()
        }

        @Test func sendsGoMicroHeaders() async throws {
            let scripted = try await ScriptedServer.start { _ in
                .reply(httpResponse(headers: [("Content-Type", "application/json"), ("X-Reply", "r1")], body: Array("{\"message\":\"ok\"}".utf8)))
            }
            let client = HTTPClientTransport()
            let request = RPCRequest(service: "greeter", endpoint: "Greeter.Hello", metadata: ["Trace-Id": "t1", "Micro-From-Service": "caller"],
                                     deadline: .now() + .seconds(2), id: "req-1", body: ByteBuffer(string: "{\"name\":\"a\"}"))
            let response = try await client.call(request, to: scripted.address)
            #expect(String(buffer: response.body) == "{\"message\":\"ok\"}")
            #expect(response.metadata["x-reply"] == "r1")

            let seen = try #require(scripted.requests.first)
            #expect(seen.requestLine == "POST / HTTP/1.1")
            #expect(seen.header("Micro-Id") == "req-1")
            #expect(seen.header("Micro-Service") == "greeter")
            #expect(seen.header("Micro-Method") == "Greeter.Hello")
            #expect(seen.header("Micro-Endpoint") == "Greeter.Hello")
            #expect(seen.header("Content-Type") == "application/json")
            #expect(seen.header("Accept") == "application/json")
            #expect(seen.header("Micro-Stream") == nil)
            #expect(seen.header("Trace-Id") == "t1")
            #expect(seen.header("Micro-From-Service") == "caller")
            #expect(seen.header("Host") == "127.0.0.1")
            #expect(seen.header("Content-Length") == "12")
            #expect(seen.bodyText == "{\"name\":\"a\"}")
            // Timeout is the time left in nanoseconds, as a decimal integer.
            let timeout = try #require(seen.header("Timeout").flatMap { Int64($0) })
            #expect(timeout > 1_000_000_000 && timeout <= 2_000_000_000)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func metadataThatCannotBeAHeaderIsSanitisedAndTheCallSucceeds() async throws {
            // "\r\n" is one Character: a filter comparing Characters with "\r" and "\n" let it through and
            // SwiftNIO then refused the request, which the caller saw as a 503.
            let (server, seen) = try await metadataKeepingServer()
            let client = HTTPClientTransport()
            var request = try helloRequest("a", metadata: [
                "Trace-Id": "a\r\nInjected: yes", "Lf": "b\nc", "Nul": "x\u{0}y\u{7F}", "Tab": "t\tu", "Accents": "é\r\nü",
                "Bad Name": "v", "Bad\r\nName": "v", "Bad:Colon": "v",
            ])
            request.endpoint = "Test.Meta"
            let response = try await client.call(request, to: server.address)
            #expect(try json.decode(Reply.self, from: response.body) == Reply(message: "meta a"))
            let m = seen.value
            #expect(m["trace-id"] == "aInjected: yes")
            #expect(m["injected"] == nil, "no header was injected")
            #expect(m["lf"] == "bc")
            #expect(m["nul"] == "xy")
            #expect(m["tab"] == "t\tu")
            #expect(m["accents"] == "éü")
            #expect(m.dictionary.keys.allSatisfy { !$0.lowercased().contains("bad") }, "names that are not tokens are not sent: \(m)")

            let headers = MucpHeaders.headers(for: request, host: "h")
            #expect(headers.allSatisfy { name, value in
                !name.utf8.contains { $0 < 0x21 || $0 == 0x7F } && !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
            }, "\(headers)")
            await client.shutdown()
            await server.stop()
        }

        @Test func responseMetadataThatCannotBeAHeaderIsSanitised() async throws {
            struct Answering: RPCHandler {
                var serverDescription: ServerDescription { ServerDescription(service: "test") }
                func health() async -> HealthStatus { .serving }
                func handle(_ request: RPCRequest) async -> Result<RPCResponse, MicroError> {
                    var response = RPCResponse(contentType: "application/json", body: ByteBuffer(string: "{}"))
                    response.metadata = ["Reply-Id": "r\r\n1", "Bad Name": "v"]
                    return .success(response)
                }
                func handleStream(_ request: RPCRequest, inbound: MessageReader, outbound: MessageWriter) async -> MicroError? { nil }
            }
            let listener = try await HTTPServerTransport().listen(on: "127.0.0.1:0", handler: Answering())
            let task = Task { _ = try? await listener.run() }
            let client = HTTPClientTransport()
            let response = try await client.call(try helloRequest("a"), to: listener.address)
            #expect(response.metadata["reply-id"] == "r1")
            #expect(response.metadata["bad name"] == nil)
            await client.shutdown()
            await listener.shutdown(gracePeriod: .seconds(1))
            await task.value
        }

        @Test func handlerSeesMetadataAndDeadline() async throws {
            struct Seen: Sendable { var metadata = Metadata(); var left: Duration?; var callContextTrace: String? }
            let seen = Shared(Seen())
            let server = try await TestServer.start { router in
                router.handle("Test.Inspect") { (_: Hello, ctx: HandlerContext) -> Reply in
                    let left = ctx.deadline.map { Duration.nanoseconds(Int64($0.uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)) }
                    let trace = CallContext.current.metadata["trace-id"]
                    seen.update { $0 = Seen(metadata: ctx.metadata, left: left, callContextTrace: trace) }
                    return Reply(message: "ok")
                }
            }
            let client = HTTPClientTransport()
            var request = try helloRequest("a", metadata: ["Trace-Id": "abc", "Tenant": "blue"], deadline: .now() + .seconds(2), id: "id-1")
            request.endpoint = "Test.Inspect"
            _ = try await client.call(request, to: server.address)
            let s = seen.value
            #expect(s.metadata["trace-id"] == "abc")
            #expect(s.metadata["Tenant"] == "blue")
            #expect(s.callContextTrace == "abc")
            // Framing headers are not metadata.
            for framing in ["micro-id", "micro-endpoint", "micro-service", "micro-method", "timeout", "content-type", "content-length", "host"] {
                #expect(s.metadata[framing] == nil, "\(framing) leaked into metadata")
            }
            let left = try #require(s.left)
            #expect(left > .milliseconds(1500) && left <= .seconds(2))
            await client.shutdown()
            await server.stop()
        }

        /// A test server whose `Test.Meta` keeps the metadata of the last call and answers `meta <name>`.
        func metadataKeepingServer() async throws -> (server: TestServer, seen: Shared<Metadata>) {
            let seen = Shared(Metadata())
            let server = try await TestServer.start { router in
                router.handle("Test.Meta") { (h: Hello, ctx: HandlerContext) -> Reply in
                    seen.update { $0 = ctx.metadata }
                    return Reply(message: "meta \(h.name)")
                }
            }
            return (server, seen)
        }

        @Test func acceptsXPrefixedAndLowercaseHeaders() async throws {
            let (server, seen) = try await metadataKeepingServer()
            let body = "{\"name\":\"x\"}"
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("POST / HTTP/1.1\r\nHost: a\r\nX-Micro-Endpoint: Test.Hello\r\nX-Micro-Service: test\r\nX-Micro-Id: abc\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let r = try #require(await raw.response())
            #expect(r.status == 200)
            #expect(r.bodyText == "{\"message\":\"Hello x\"}")
            #expect(r.headers["micro-id"] == "abc")
            raw.close()

            // Go canonicalises names; other clients lowercase them. Both work, and metadata keys are case-insensitive.
            let raw2 = try await RawConnection.connect(server.address)
            try await raw2.send("POST / HTTP/1.1\r\nhost: a\r\nmicro-endpoint: Test.Meta\r\nTENANT: green\r\n"
                + "content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)")
            let r2 = try #require(await raw2.response())
            #expect(r2.status == 200)
            #expect(r2.bodyText == "{\"message\":\"meta x\"}")
            #expect(seen.value["Tenant"] == "green")
            raw2.close()
            await server.stop()
        }

        @Test func sequentialCallsReuseOneConnection() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            for i in 0..<20 {
                let r = try await client.call(helloRequest("n\(i)"), to: server.address)
                #expect(try json.decode(Reply.self, from: r.body).message == "Hello n\(i)")
            }
            #expect(httpServer(server.listener).acceptedConnections == 1)
            await client.shutdown()
            await server.stop()
        }

        @Test func concurrentCallsAllSucceed() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let r = try await client.call(helloRequest("c\(i)"), to: server.address)
                        #expect(try json.decode(Reply.self, from: r.body).message == "Hello c\(i)")
                    }
                }
                try await group.waitForAll()
            }
            let afterBurst = httpServer(server.listener).acceptedConnections
            #expect(afterBurst >= 1 && afterBurst <= 50)
            // Later calls reuse the pooled connections instead of opening new ones.
            for _ in 0..<10 { _ = try await client.call(helloRequest("again"), to: server.address) }
            #expect(httpServer(server.listener).acceptedConnections == afterBurst)
            await client.shutdown()
            await server.stop()
        }

        @Test func stalePooledConnectionIsReplaced() async throws {
            let config = HTTPTransportConfiguration(idleTimeout: .milliseconds(200))
            let server = try await TestServer.start(configuration: config)
            let client = HTTPClientTransport()
            _ = try await client.call(helloRequest("first"), to: server.address)
            // The server closes the idle pooled connection after 200 ms.
            #expect(await eventually { httpServer(server.listener).openConnections == 0 })
            try await Task.sleep(for: .milliseconds(50))
            let r = try await client.call(helloRequest("second"), to: server.address)
            #expect(try json.decode(Reply.self, from: r.body).message == "Hello second")
            #expect(httpServer(server.listener).acceptedConnections == 2)
            await client.shutdown()
            await server.stop()
        }

        @Test func pooledConnectionClosedWithoutAnswerIsRetriedOnce() async throws {
            // The second request on the first connection finds it dead (closed without an answer):
            // the client sends it again on a fresh connection.
            let scripted = try await ScriptedServer.start { request in
                if request.connection == 0 && request.index == 1 { return .close }
                return .reply(httpResponse(body: Array("{\"message\":\"c\(request.connection)\"}".utf8)))
            }
            let client = HTTPClientTransport()
            let first = try await client.call(helloRequest("a"), to: scripted.address)
            #expect(String(buffer: first.body) == "{\"message\":\"c0\"}")
            let second = try await client.call(helloRequest("b"), to: scripted.address)
            #expect(String(buffer: second.body) == "{\"message\":\"c1\"}")
            #expect(scripted.connections == 2)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func freshConnectionClosedWithoutAnswerIsNotRetried() async throws {
            let scripted = try await ScriptedServer.start { _ in .close }
            let client = HTTPClientTransport()
            let error = await caught { _ = try await client.call(helloRequest("a"), to: scripted.address) }
            #expect((error as? TransportError)?.code == .connectionClosed, "got \(String(describing: error))")
            #expect(scripted.requests.count == 1)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func handlerSlowerThanIdleTimeoutStillAnswers() async throws {
            // The idle timeout is for connections between requests, not for a request being served.
            let config = HTTPTransportConfiguration(idleTimeout: .milliseconds(200))
            let server = try await TestServer.start(configuration: config) { router in
                router.handle("Test.Slow") { (h: Hello, _: HandlerContext) -> Reply in
                    try await Task.sleep(for: .milliseconds(500))
                    return Reply(message: "slow \(h.name)")
                }
            }
            let client = HTTPClientTransport()
            var request = try helloRequest("a")
            request.endpoint = "Test.Slow"
            let r = try await client.call(request, to: server.address)
            #expect(try json.decode(Reply.self, from: r.body).message == "slow a")
            await client.shutdown()
            await server.stop()
        }

        @Test func deadlineEndsACallThatGetsNoAnswer() async throws {
            let scripted = try await ScriptedServer.start { _ in .ignore }
            let client = HTTPClientTransport()
            let error = await caught { _ = try await client.call(helloRequest("a", deadline: .now() + .milliseconds(200)), to: scripted.address) }
            #expect((error as? TransportError)?.code == .timeout, "got \(String(describing: error))")
            // The timed-out connection is closed, not pooled: the next call opens another.
            #expect(await eventually { scripted.requests.count == 1 })
            _ = await caught { _ = try await client.call(helloRequest("b", deadline: .now() + .milliseconds(50)), to: scripted.address) }
            #expect(await eventually { scripted.connections == 2 })
            await client.shutdown()
            await scripted.stop()
        }

        @Test func aFinishedCallsDeadlineLeavesItsPooledConnectionOpen() async throws {
            // A connection checks deadlines with one timer: when it fires after the call that armed it
            // has been answered, the connection stays open for the next call.
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            _ = try await client.call(helloRequest("a", deadline: .now() + .milliseconds(100)), to: server.address)
            try await Task.sleep(for: .milliseconds(300))
            let r = try await client.call(helloRequest("b", deadline: .now() + .seconds(5)), to: server.address)
            #expect(try json.decode(Reply.self, from: r.body).message == "Hello b")
            #expect(httpServer(server.listener).acceptedConnections == 1)
            await client.shutdown()
            await server.stop()
        }

        @Test func anEarlierDeadlineOnAReusedConnectionStillEndsTheCall() async throws {
            // The first call arms the connection's check a minute out; the second, on the same
            // connection with a 200 ms deadline and no answer, must end long before that.
            let scripted = try await ScriptedServer.start { request in
                request.index == 0 ? .reply(httpResponse(body: Array("{\"message\":\"first\"}".utf8))) : .ignore
            }
            let client = HTTPClientTransport()
            let first = try await client.call(helloRequest("a", deadline: .now() + .seconds(60)), to: scripted.address)
            #expect(String(buffer: first.body) == "{\"message\":\"first\"}")
            var error: (any Error)?
            let took = await elapsed {
                error = await caught { _ = try await client.call(helloRequest("b", deadline: .now() + .milliseconds(200)), to: scripted.address) }
            }
            #expect((error as? TransportError)?.code == .timeout, "got \(String(describing: error))")
            #expect(took < .seconds(30), "the call ended after \(took), on the first call's deadline")
            #expect(scripted.connections == 1)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func aLaterDeadlineOnAReusedConnectionIsCheckedAgain() async throws {
            // The check armed by a first call with a short deadline fires while a second call (longer
            // deadline) is in flight: it re-arms for the second call's deadline instead of closing.
            let scripted = try await ScriptedServer.start { request in
                request.index == 0 ? .reply(httpResponse(body: Array("{\"message\":\"first\"}".utf8))) : .ignore
            }
            let client = HTTPClientTransport()
            _ = try await client.call(helloRequest("a", deadline: .now() + .milliseconds(150)), to: scripted.address)
            let start = NIODeadline.now()
            let error = await caught { _ = try await client.call(helloRequest("b", deadline: start + .milliseconds(600)), to: scripted.address) }
            #expect((error as? TransportError)?.code == .timeout, "got \(String(describing: error))")
            // Not ended by the first call's check (150 ms), only once its own deadline passed.
            #expect(NIODeadline.now() >= start + .milliseconds(600))
            await client.shutdown()
            await scripted.stop()
        }

        @Test func clientAfterShutdownRefusesCalls() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            _ = try await client.call(helloRequest("a"), to: server.address)
            await client.shutdown()
            let error = await caught { _ = try await client.call(helloRequest("b"), to: server.address) }
            #expect((error as? TransportError)?.code == .shutdown, "got \(String(describing: error))")
            await server.stop()
        }
    }
}
