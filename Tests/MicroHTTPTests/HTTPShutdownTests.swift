import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// listener.shutdown(gracePeriod:): stop accepting, let calls in flight finish, then close everything.
    @Suite struct HTTPShutdownTests {
        static func server(started: Shared<Int>, sleep: Duration) async throws -> TestServer {
            try await TestServer.start { router in
                router.handle("Test.Slow") { (h: Hello, _: HandlerContext) -> Reply in
                    started.update { $0 += 1 }
                    try await Task.sleep(for: sleep)
                    return Reply(message: "slow \(h.name)")
                }
            }
        }

        @Test func inFlightCallFinishesWhileNewConnectionsAreRefused() async throws {
            let started = Shared(0)
            let server = try await Self.server(started: started, sleep: .milliseconds(300))
            let client = HTTPClientTransport()
            let call = Task {
                try await client.call(RPCRequest(service: "test", endpoint: "Test.Slow", body: try encode(Hello(name: "a"))), to: server.address)
            }
            #expect(await eventually { started.value == 1 })
            let shutdownStarted = ContinuousClock.now
            let shutdown = Task { await server.listener.shutdown(gracePeriod: .seconds(2)) }
            try await Task.sleep(for: .milliseconds(50))

            // A new connection is refused now.
            let late = HTTPClientTransport()
            let error = await caught {
                _ = try await late.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "b"))), to: server.address)
            }
            #expect((error as? TransportError)?.code == .connectFailed, "got \(String(describing: error))")
            await late.shutdown()

            // The call in flight completes normally.
            let response = try await call.value
            #expect(try json.decode(Reply.self, from: response.body) == Reply(message: "slow a"))
            await shutdown.value
            // Shutdown did not wait out the whole grace period once the call was done.
            #expect(ContinuousClock.now - shutdownStarted < .seconds(1))
            await server.task.value
            await client.shutdown()
        }

        @Test func connectionOfAnInFlightCallIsNotKeptAlive() async throws {
            let started = Shared(0)
            let server = try await Self.server(started: started, sleep: .milliseconds(200))
            let raw = try await RawConnection.connect(server.address)
            let body = "{\"name\":\"k\"}"
            try await raw.send("POST / HTTP/1.1\r\nHost: a\r\nMicro-Endpoint: Test.Slow\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(await eventually { started.value == 1 })
            let shutdown = Task { await server.listener.shutdown(gracePeriod: .seconds(2)) }
            let r = try #require(await raw.response())
            #expect(r.status == 200)
            #expect(r.headers["connection"]?.lowercased() == "close")
            #expect(await raw.waitClosed())
            await shutdown.value
            await server.task.value
        }

        @Test func idleConnectionsCloseAtOnce() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            for _ in 0..<3 { _ = try await client.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "a"))), to: server.address) }
            let raw = try await RawConnection.connect(server.address)
            #expect(await eventually { httpServer(server.listener).openConnections == 2 })
            let took = await elapsed { await server.listener.shutdown(gracePeriod: .seconds(2)) }
            #expect(took < .milliseconds(500), "shutdown took \(took) with only idle connections")
            #expect(await raw.waitClosed())
            await server.task.value
            await client.shutdown()
        }

        @Test func gracePeriodBoundsAHandlerThatDoesNotFinish() async throws {
            let started = Shared(0)
            let server = try await Self.server(started: started, sleep: .seconds(30))
            let client = HTTPClientTransport()
            let call = Task {
                try await client.call(RPCRequest(service: "test", endpoint: "Test.Slow", body: try encode(Hello(name: "a"))), to: server.address)
            }
            #expect(await eventually { started.value == 1 })
            let took = await elapsed {
                await server.listener.shutdown(gracePeriod: .milliseconds(300))
                await server.task.value
            }
            #expect(took >= .milliseconds(250) && took < .seconds(1), "shutdown took \(took)")
            let result = await call.result
            if case .success = result { Issue.record("a call cut off by shutdown succeeded") }
            await client.shutdown()
        }

        @Test func openStreamIsClosedAfterTheGracePeriod() async throws {
            let server = try await TestServer.start()
            let client = HTTPClientTransport()
            let stream = try await client.openStream(RPCRequest(service: "test", endpoint: "Test.Echo", isStream: true), to: server.address)
            try await stream.send(encode(Hello(name: "x")))
            _ = try #require(try await stream.receive())
            let took = await elapsed {
                await server.listener.shutdown(gracePeriod: .milliseconds(200))
                await server.task.value
            }
            #expect(took < .seconds(1), "shutdown took \(took)")
            let error = await caught { _ = try await stream.receive() }
            #expect(error != nil)
            await client.shutdown()
        }
    }
}
