import Foundation
import MicroCore
@testable import MicroNATS
@testable import NATSClient
import NIOCore

/// A router with the test endpoints served over ``NATSServerTransport`` on its own connection.
struct NATSTestServer {
    let router: Router
    let listener: any TransportListener
    let task: Task<Void, Never>
    let connection: NATSConnection
    var address: String { listener.address }
    var natsListener: NATSListener { listener as! NATSListener }

    static func start(_ server: NATSServerProcess, address: String = "", configuration: NATSTransportConfiguration = NATSTransportConfiguration(),
                      setup: (Router) -> Void = { _ in }) async throws -> NATSTestServer {
        typealias K = NATSTestKit
        let router = Router(serviceName: "test", logger: K.logger)
        router.handle("Test.Hello") { (req: K.Hello, _) in K.Reply(message: "Hello \(req.name)") }
        router.handle("Test.Countdown") { (req: K.Count, stream: ServerStream<K.Tick>, _) in
            for n in (0..<req.from).reversed() { try await stream.send(K.Tick(n: n)) }
        }
        router.handleBidiStream("Test.Echo") { (requests: RequestStream<K.Hello>, replies: ServerStream<K.Reply>, _) in
            for try await r in requests { try await replies.send(K.Reply(message: r.name)) }
        }
        router.handleClientStream("Test.Sum") { (requests: RequestStream<K.Tick>, _) -> K.Tick in
            var total = 0
            for try await t in requests { total += t.n }
            return K.Tick(n: total)
        }
        setup(router)
        let connection = try await K.connect(server, name: "test-server")
        let transport = NATSServerTransport(connection: connection, configuration: configuration, logger: K.logger)
        let listener = try await transport.listen(on: address, handler: router)
        let task = Task { _ = try? await listener.run() }
        return NATSTestServer(router: router, listener: listener, task: task, connection: connection)
    }

    func stop() async {
        await listener.shutdown(gracePeriod: .seconds(1))
        await task.value
        await connection.close()
    }
}
