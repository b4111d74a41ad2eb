import Foundation
import Micro
import MicroGateway
import MicroTestSupport
import NIOCore
import ServiceLifecycle
import Testing

/// The messages of the test greeter.
struct HelloRequest: Codable, Sendable { var name: String }
struct HelloReply: Codable, Sendable { var message: String }
struct CountRequest: Codable, Sendable { var from: Int }
struct Tick: Codable, Sendable { var n: Int }
struct Number: Codable, Sendable { var n: Int }
struct Total: Codable, Sendable { var sum: Int }
struct Text: Codable, Sendable { var text: String }

/// A greeter served in process over the HTTP transport, on a memory registry, and the gateway (or the
/// dashboard) in front of it on a free loopback port.
enum GatewayFixture {
    /// A greeter named `name`: `Greeter.Hello` (400 on an empty name), `Greeter.Whoami` (echoes the
    /// caller's Authorization), `Greeter.Slow` (takes 5 s), `Greeter.Countdown` (a server stream; from 99 it fails after 2 ticks),
    /// `Greeter.Sum` (a client stream of numbers, answered with their sum), `Greeter.Echo` (bidirectional: each text upper-cased).
    static func greeter(_ name: String, registry: MemoryRegistry, metadata: [String: String] = [:]) throws -> MicroService {
        var options = ServiceOptions()
        options.metadata = metadata
        let service = try MicroService(name: name, options: options, registry: registry, broker: HTTPBroker(registry: registry),
                                       transport: (HTTPClientTransport(), HTTPServerTransport()))
        service.handle("Greeter.Hello") { (request: HelloRequest, context) in
            guard !request.name.isEmpty else { throw MicroError.badRequest("greeter", "name is required") }
            context.logger.info("greeting \(request.name)")
            return HelloReply(message: "Hello \(request.name)")
        }
        service.handle("Greeter.Whoami") { (_: [String: String], context) in
            ["authorization": context.metadata["Authorization"] ?? ""]
        }
        service.handle("Greeter.Slow") { (request: [String: String], _) in
            try await Task.sleep(for: .seconds(5))
            return request
        }
        service.handle("Greeter.Countdown") { (request: CountRequest, stream: ServerStream<Tick>, _) in
            if request.from == 99 {
                try await stream.send(Tick(n: 2))
                try await stream.send(Tick(n: 1))
                throw MicroError.conflict("greeter", "countdown broke")
            }
            for n in (0..<request.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        service.handleClientStream("Greeter.Sum") { (numbers: RequestStream<Number>, _) in
            var sum = 0
            for try await number in numbers { sum += number.n }
            return Total(sum: sum)
        }
        service.handleBidiStream("Greeter.Echo") { (texts: RequestStream<Text>, replies: ServerStream<Text>, _) in
            for try await text in texts { try await replies.send(Text(text: text.text.uppercased())) }
        }
        return service
    }

    /// Runs a greeter and `server(client)` (the gateway or the dashboard), then `body` with the server's address.
    static func run(greeterName: String = "greeter", metadata: [String: String] = [:],
                    server: @escaping @Sendable (Client, @escaping @Sendable (String) async -> Void) -> any Service & Sendable,
                    _ body: @escaping @Sendable (String, MemoryRegistry, MicroService) async throws -> Void) async throws {
        let registry = MemoryRegistry()
        let service = try greeter(greeterName, registry: registry, metadata: metadata)
        let client = Client(registry: registry, transports: [HTTPClientTransport()], broker: HTTPBroker(registry: registry))
        let (addresses, listening) = AsyncStream<String>.makeStream()
        let gateway = server(client) { listening.yield($0) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                group.addTask { try await gateway.run() }
                defer {
                    service.stop()
                    group.cancelAll()
                }
                try await waitRegistered(greeterName, in: registry)
                var it = addresses.makeAsyncIterator()
                let next = await it.next()
                let address = try #require(next)
                try await body(address, registry, service)
            }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Waits (up to 5 s) until `name` has a node in `registry`.
    static func waitRegistered(_ name: String, in registry: MemoryRegistry) async throws {
        var registered = false
        for _ in 0..<500 where !registered {
            registered = !(try await registry.getService(name).first?.nodes.isEmpty ?? true)
            if !registered { try await Task.sleep(for: .milliseconds(10)) }
        }
        try #require(registered, "\(name) registered")
    }

    /// With the API gateway in front.
    static func api(_ configuration: GatewayConfiguration = GatewayConfiguration(port: 0),
                    _ body: @escaping @Sendable (String, MemoryRegistry, MicroService) async throws -> Void) async throws {
        try await run(server: { client, onRunning in APIGateway(client: client, configuration: configuration, onRunning: onRunning) }, body)
    }
}

/// One HTTP/1.1 exchange on a new connection (`Connection: close`), raw so paths and bytes stay as written.
func http(_ address: String, _ method: String, _ path: String, headers: [(String, String)] = [], body: String = "",
          within timeout: Duration = .seconds(10)) async throws -> RawResponse {
    let connection = try await RawConnection.connect(address)
    defer { connection.close() }
    var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    try await connection.send(head + "\r\n" + body)
    _ = await connection.waitClosed(within: timeout)
    return try #require(RawResponse.parse(connection.received), "a response to \(method) \(path): \(connection.text)")
}

/// The JSON object of a body.
func object(_ response: RawResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], "a JSON object: \(response.bodyText)")
}
