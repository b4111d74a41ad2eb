import Foundation
import Logging
import MicroCore
@testable import MicroHTTP
import NIOCore
import NIOPosix
import Testing

extension HTTPTransportSuite {
    /// A handler that blocks its thread, on a server with one event loop: declared `blocking`, it
    /// runs off the loop and other calls go on; undeclared, it holds every call on that loop.
    @Suite struct HTTPBlockingHandlerTests {
        /// How long a Hello takes while a 1 s blocking call is in flight.
        static func helloWhileBlocked(blocking: Bool) async throws -> Duration {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var logger = Logger(label: "test.blocking")
            logger.logLevel = .critical
            let router = Router(serviceName: "test", logger: logger)
            router.handle("Test.Hello") { (req: Hello, _) in Reply(message: "Hello \(req.name)") }
            router.handle("Test.Block", blocking: blocking) { (req: Hello, _: HandlerContext) -> Reply in
                usleep(1_000_000)   // synchronous: holds its thread
                return Reply(message: "blocked \(req.name)")
            }
            let listener = try await HTTPServerTransport(logger: logger, group: group).listen(on: "127.0.0.1:0", handler: router)
            let serving = Task { try? await listener.run() }
            let client = HTTPClientTransport()
            let address = listener.address
            let blocked = Task {
                try await client.call(RPCRequest(service: "test", endpoint: "Test.Block", body: try encode(Hello(name: "b"))), to: address)
            }
            try await Task.sleep(for: .milliseconds(150))
            let other = HTTPClientTransport()
            let took = try await elapsed {
                _ = try await other.call(RPCRequest(service: "test", endpoint: "Test.Hello", body: try encode(Hello(name: "h"))), to: address)
            }
            _ = try await blocked.value
            await other.shutdown()
            await client.shutdown()
            await listener.shutdown(gracePeriod: .seconds(1))
            await serving.value
            try await group.shutdownGracefully()
            return took
        }

        @Test func blockingHandlerRunsOffTheEventLoop() async throws {
            let declared = try await Self.helloWhileBlocked(blocking: true)
            #expect(declared < .milliseconds(500), "a Hello took \(declared) next to a handler declared blocking")
            // The control: undeclared, the blocking handler holds the only loop and the Hello waits for it.
            let undeclared = try await Self.helloWhileBlocked(blocking: false)
            #expect(undeclared > .milliseconds(500), "a Hello took only \(undeclared) next to an undeclared blocking handler")
        }
    }
}
