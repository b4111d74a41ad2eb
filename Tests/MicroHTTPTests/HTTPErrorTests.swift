import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// How failures travel: handler MicroErrors, routing and framing errors, transport failures, deadlines.
    @Suite struct HTTPErrorTests {
        static let conflict = MicroError(id: "test.custom", code: 409, detail: "already there: \"x\" / y")

        static func server(_ configuration: HTTPTransportConfiguration = HTTPTransportConfiguration()) async throws -> TestServer {
            try await TestServer.start(configuration: configuration) { router in
                router.handle("Test.Fail") { (_: Hello, _: HandlerContext) -> Reply in throw HTTPErrorTests.conflict }
                router.handle("Test.Teapot") { (_: Hello, _: HandlerContext) -> Reply in
                    throw MicroError(id: "pot", code: 418, detail: "short and stout", status: "I'm a teapot")
                }
                router.handle("Test.Crash") { (_: Hello, _: HandlerContext) -> Reply in
                    struct Oops: Error {}
                    throw Oops()
                }
                router.handle("Test.Sleep") { (_: Hello, _: HandlerContext) -> Reply in
                    try await Task.sleep(for: .seconds(2))
                    return Reply(message: "late")
                }
            }
        }

        /// A plain HTTP caller's request: the endpoint as the path (`/Test/Fail`), or, with `mucp`, as
        /// go-micro's clients name it (`Micro-Endpoint`).
        func post(_ address: String, endpoint: String?, body: String, extra: String = "", mucp: Bool = false) async throws -> RawResponse {
            let raw = try await RawConnection.connect(address)
            defer { raw.close() }
            let path = mucp ? "/" : "/" + (endpoint ?? "").split(separator: ".").joined(separator: "/")
            var text = "POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\(extra)"
            if let endpoint, mucp { text += "Micro-Endpoint: \(endpoint)\r\n" }
            try await raw.send(text + "\r\n" + body)
            return try #require(await raw.response())
        }

        @Test func handlerErrorTravelsInMicroErrorHeaderWithItsStatus() async throws {
            let server = try await Self.server()
            let r = try await post(server.address, endpoint: "Test.Fail", body: "{\"name\":\"a\"}")
            #expect(r.status == 409)
            let header = try #require(r.headers["micro-error"])
            #expect(MicroError.parse(header) == Self.conflict)
            #expect(MicroError.parse(r.bodyText) == Self.conflict)
            // A go-micro caller gets go-micro's answer: 200, the error in the header only.
            let mucp = try await post(server.address, endpoint: "Test.Fail", body: "{\"name\":\"a\"}", mucp: true)
            #expect(mucp.status == 200)
            #expect(MicroError.parse(try #require(mucp.headers["micro-error"])) == Self.conflict)
            #expect(mucp.body.isEmpty)
            await server.stop()
        }

        @Test func clientGetsTheHandlersErrorIntact() async throws {
            let server = try await Self.server()
            let client = HTTPClientTransport()
            for (endpoint, expected) in [("Test.Fail", Self.conflict),
                                         ("Test.Teapot", MicroError(id: "pot", code: 418, detail: "short and stout", status: "I'm a teapot"))] {
                let error = await caught {
                    _ = try await client.call(RPCRequest(service: "test", endpoint: endpoint, body: try encode(Hello(name: "a"))), to: server.address)
                }
                #expect(error as? MicroError == expected, "got \(String(describing: error))")
            }
            // The connection stays usable after an error answer.
            _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "a"))), to: server.address)
            #expect(httpServer(server.listener).acceptedConnections == 1)
            await client.shutdown()
            await server.stop()
        }

        @Test func nonMicroErrorBecomes500() async throws {
            let server = try await Self.server()
            let client = HTTPClientTransport()
            let error = await caught {
                _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Crash", body: try encode(Hello(name: "a"))), to: server.address)
            }
            let e = try #require(error as? MicroError)
            #expect(e.code == 500)
            #expect(e.id == "test")
            #expect(e.detail.contains("Oops"))
            await client.shutdown()
            await server.stop()
        }

        @Test func unknownEndpointIs404NamingIt() async throws {
            let server = try await Self.server()
            let r = try await post(server.address, endpoint: "Nope.Missing", body: "{}")
            #expect(r.status == 404)
            let e = MicroError.parse(try #require(r.headers["micro-error"]))
            #expect(e.code == 404)
            #expect(e.detail.contains("Nope.Missing"))

            let client = HTTPClientTransport()
            let error = await caught { _ = try await client.call(RPCRequest(service: "test", endpoint: "Nope.Missing"), to: server.address) }
            #expect((error as? MicroError)?.code == 404)
            #expect((error as? MicroError)?.detail.contains("Nope.Missing") == true)
            await client.shutdown()
            await server.stop()
        }

        @Test func malformedJSONBodyIs400() async throws {
            let server = try await Self.server()
            let r = try await post(server.address, endpoint: "Test.Hello", body: "{\"name\": nope")
            #expect(r.status == 400)
            #expect(MicroError.parse(try #require(r.headers["micro-error"])).code == 400)
            let wrongType = try await post(server.address, endpoint: "Test.Hello", body: "{\"name\": 42}")
            #expect(wrongType.status == 400)
            await server.stop()
        }

        @Test func missingEndpointHeaderIs400() async throws {
            let server = try await Self.server()
            let r = try await post(server.address, endpoint: nil, body: "{\"name\":\"a\"}")
            #expect(r.status == 400)
            let e = MicroError.parse(try #require(r.headers["micro-error"]))
            #expect(e.code == 400)
            #expect(e.detail.contains("Micro-Endpoint"))
            await server.stop()
        }

        @Test func getOnRootIs404JSONAndPutIs405() async throws {
            let server = try await Self.server()
            let raw = try await RawConnection.connect(server.address)
            try await raw.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let get = try #require(await raw.response())
            #expect(get.status == 404)
            #expect(get.headers["content-type"] == "application/json")
            #expect(MicroError.parse(get.bodyText).code == 404)
            raw.close()

            let put = try await RawConnection.connect(server.address)
            try await put.send("PUT /Test/Hello HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}")
            let r = try #require(await put.response())
            #expect(r.status == 405)
            #expect(MicroError.parse(r.bodyText).code == 405)
            put.close()
            await server.stop()
        }

        @Test func connectionRefusedIsConnectFailed() async throws {
            let address = try await deadAddress()
            let client = HTTPClientTransport()
            let error = await caught { _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello"), to: address) }
            let t = try #require(error as? TransportError, "got \(String(describing: error))")
            #expect(t.code == .connectFailed)
            #expect(t.address == address)
            // Streams fail the same way.
            let streamError = await caught { _ = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: address) }
            #expect((streamError as? TransportError)?.code == .connectFailed)
            await client.shutdown()
        }

        @Test func malformedAddressIs400() async throws {
            let client = HTTPClientTransport()
            let error = await caught { _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello"), to: "no-port-here") }
            #expect((error as? MicroError)?.code == 400)
            await client.shutdown()
        }

        @Test func deadlineIsTimeoutSoonAfterIt() async throws {
            let server = try await Self.server()
            let client = HTTPClientTransport()
            var error: (any Error)?
            let took = await elapsed {
                error = await caught {
                    _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Sleep", deadline: .now() + .milliseconds(300),
                                                         body: try encode(Hello(name: "a"))), to: server.address)
                }
            }
            #expect((error as? TransportError)?.code == .timeout, "got \(String(describing: error))")
            #expect(took >= .milliseconds(290) && took < .milliseconds(600), "took \(took)")
            // The next call on the same client works (the timed-out connection was dropped, not pooled).
            let r = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "b"))), to: server.address)
            #expect(try json.decode(Reply.self, from: r.body).message == "Hello b")
            await client.shutdown()
            // The server cancels the abandoned handler, so it stops at once.
            let stopping = await elapsed { await server.stop() }
            #expect(stopping < .milliseconds(900), "stop took \(stopping)")
        }

        @Test func passedDeadlineFailsWithoutSending() async throws {
            let scripted = try await ScriptedServer.start { _ in .reply(httpResponse(body: Array("{}".utf8))) }
            let client = HTTPClientTransport()
            let error = await caught {
                _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", deadline: .now() - .milliseconds(1)), to: scripted.address)
            }
            #expect((error as? TransportError)?.code == .timeout)
            #expect(scripted.requests.isEmpty)
            await client.shutdown()
            await scripted.stop()
        }

        @Test func non200WithoutMicroErrorKeepsTheStatus() async throws {
            let scripted = try await ScriptedServer.start { request in
                request.index == 0
                    ? .reply(httpResponse(status: 502, headers: [("Content-Type", "text/plain")], body: []))
                    : .reply(httpResponse(status: 503, headers: [("Content-Type", "application/json")],
                                          body: Array("{\"id\":\"go.micro.server\",\"code\":503,\"detail\":\"draining\"}".utf8)))
            }
            let client = HTTPClientTransport()
            let first = await caught { _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello"), to: scripted.address) }
            #expect((first as? MicroError)?.code == 502, "got \(String(describing: first))")
            let second = await caught { _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello"), to: scripted.address) }
            let e = try #require(second as? MicroError, "got \(String(describing: second))")
            #expect(e.id == "go.micro.server" && e.code == 503 && e.detail == "draining")
            await client.shutdown()
            await scripted.stop()
        }

        @Test func cancelledCallEndsPromptly() async throws {
            let server = try await Self.server()
            let client = HTTPClientTransport()
            let task = Task {
                try await client.call(RPCRequest(service: "test", endpoint: "Test.Sleep", body: try encode(Hello(name: "a"))), to: server.address)
            }
            try await Task.sleep(for: .milliseconds(100))
            let took = await elapsed {
                task.cancel()
                let result = await task.result
                if case .success = result { Issue.record("a cancelled call succeeded") }
            }
            #expect(took < .milliseconds(300))
            await client.shutdown()
            await server.stop()
        }
    }
}
