import InMemoryLogging
import Logging
import Micro
import MicroGateway
import MicroTestSupport
import ServiceLifecycle
import Testing

/// Stopping `micro api` is quiet: nothing at error level, whether it is shut down gracefully (as
/// `micro api` is on SIGTERM) or its task is cancelled, with a kept-alive connection open either way.
@Suite(.serialized) struct GatewayShutdownTests {
    @Test(arguments: [false, true]) func stoppingLogsNoError(byCancelling: Bool) async throws {
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "test.api") { _ in logs }
        logger.logLevel = .trace
        let registry = MemoryRegistry()
        let greeter = try GatewayFixture.greeter("greeter", registry: registry)
        let client = Client(registry: registry, transports: [HTTPClientTransport()], broker: HTTPBroker(registry: registry))
        let (addresses, listening) = AsyncStream<String>.makeStream()
        let gateway = APIGateway(client: client, configuration: GatewayConfiguration(port: 0), logger: logger) { listening.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [gateway], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await greeter.run() }
            defer { greeter.stop() }
            let serving = Task { try await group.run() }
            try await GatewayFixture.waitRegistered("greeter", in: registry)
            var it = addresses.makeAsyncIterator()
            let next = await it.next()
            let address = try #require(next)
            let connection = try await RawConnection.connect(address)
            defer { connection.close() }
            try await connection.send("POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n{\"name\":\"Quiet\"}")
            let answer = await connection.response(within: .seconds(5))
            #expect(answer?.status == 200, "\(connection.text)")
            if byCancelling { serving.cancel() } else { await group.triggerGracefulShutdown() }
            _ = await serving.result
            #expect(await connection.waitClosed(within: .seconds(5)), "the kept-alive connection is closed")
            tasks.cancelAll()
        }
        await client.shutdown()
        let loud = logs.entries.filter { $0.level >= .error }
        #expect(loud.isEmpty, "\(loud.map { "\($0.level): \($0.message)" })")
    }
}
