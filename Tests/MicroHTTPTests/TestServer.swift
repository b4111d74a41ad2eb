import Logging
import MicroCore
import MicroHTTP
import NIOCore

struct Hello: Codable, Sendable, Equatable { var name: String }
struct Reply: Codable, Sendable, Equatable { var message: String }
struct Count: Codable, Sendable { var from: Int }
struct Tick: Codable, Sendable, Equatable { var n: Int }

/// A router with the test endpoints, served over the real HTTP transport on 127.0.0.1.
struct TestServer {
    let router: Router
    let listener: any TransportListener
    let task: Task<Void, Never>
    var address: String { listener.address }

    static func start(configuration: HTTPTransportConfiguration = HTTPTransportConfiguration(),
                      setup: (Router) -> Void = { _ in }) async throws -> TestServer {
        var logger = Logger(label: "test.server")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .trace
        let router = Router(serviceName: "test", logger: logger)
        router.handle("Test.Hello") { (req: Hello, _) in Reply(message: "Hello \(req.name)") }
        router.handle("Test.Countdown") { (req: Count, stream: ServerStream<Tick>, _) in
            for n in (0..<req.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        router.handleBidiStream("Test.Echo") { (requests: RequestStream<Hello>, replies: ServerStream<Reply>, _) in
            for try await r in requests { try await replies.send(Reply(message: r.name)) }
        }
        router.handleClientStream("Test.Sum") { (requests: RequestStream<Tick>, _) -> Tick in
            var total = 0
            for try await t in requests { total += t.n }
            return Tick(n: total)
        }
        setup(router)
        let transport = HTTPServerTransport(configuration: configuration, logger: logger)
        let listener = try await transport.listen(on: "127.0.0.1:0", handler: router)
        let task = Task { _ = try? await listener.run() }
        return TestServer(router: router, listener: listener, task: task)
    }

    func stop() async {
        await listener.shutdown(gracePeriod: .seconds(1))
        await task.value
    }
}

import Foundation
