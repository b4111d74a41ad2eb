import Foundation
import Logging
import MicroCore
import MicroHTTP
import MicroTLS
import MicroTestSupport
import NIOCore

struct Hello: Codable, Sendable, Equatable { var name: String }
struct Reply: Codable, Sendable, Equatable { var message: String }
struct Count: Codable, Sendable { var from: Int }
struct Tick: Codable, Sendable, Equatable { var n: Int }

/// A router with test endpoints served by the real HTTP transport on 127.0.0.1 with the given TLS:
/// `Test.Hello`, `Test.Countdown` (a stream) and `Test.WhoAmI` (the caller's account, as the auth saw it).
struct TLSTestServer {
    let router: Router
    let listener: any TransportListener
    let task: Task<Void, Never>
    var address: String { listener.address }

    static func start(_ security: HTTPTransportSecurity?, auth: (any Auth)? = nil) async throws -> TLSTestServer {
        var logger = Logger(label: "test.tls.server")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .trace
        let router = Router(serviceName: "test", logger: logger)
        if let auth { router.use(AuthHandlerWrapper(auth: auth)) }
        router.handle("Test.Hello") { (request: Hello, _) in Reply(message: "Hello \(request.name)") }
        router.handle("Test.WhoAmI") { (_: Hello, context: HandlerContext) in
            Reply(message: "\(context.account?.id ?? "nobody") \(context.account?.issuer ?? "")")
        }
        router.handle("Test.Countdown") { (request: Count, stream: ServerStream<Tick>, _) in
            for n in (0..<request.from).reversed() { try await stream.send(Tick(n: n)) }
        }
        let transport = HTTPServerTransport(configuration: HTTPTransportConfiguration(security: security), logger: logger)
        let listener = try await transport.listen(on: "127.0.0.1:0", handler: router)
        let task = Task { _ = try? await listener.run() }
        return TLSTestServer(router: router, listener: listener, task: task)
    }

    func stop() async {
        await listener.shutdown(gracePeriod: .seconds(1))
        await task.value
    }
}

/// TLS from settings naming the test certificates.
enum TLSFixtures {
    /// A server presenting the server certificate; with `mutual`, clients need a certificate of the test CA.
    static func server(_ certs: TestCertificates, mutual: Bool) throws -> HTTPTransportSecurity {
        try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                                        clientCAFile: mutual ? certs.ca : nil), serving: true)
    }

    /// A client trusting `ca` (the test CA by default), presenting `certificate` and `key` when given.
    static func client(_ certs: TestCertificates, ca: String? = nil, certificate: String? = nil, key: String? = nil) throws -> HTTPTransportSecurity {
        try HTTPTransportSecurity(settings: TLSSettings(certificateFile: certificate, keyFile: key, caFile: ca ?? certs.ca), serving: false)
    }

    /// A client transport with `security` (nil: plaintext), HTTP/2 or HTTP/1.1.
    static func transport(_ security: HTTPTransportSecurity?, http2: Bool = false) -> HTTPClientTransport {
        HTTPClientTransport(configuration: HTTPTransportConfiguration(connectTimeout: .seconds(2), http2: http2, security: security))
    }
}

/// One unary JSON call over `transport`, the reply's message.
func hello(_ transport: HTTPClientTransport, _ address: String, endpoint: String = "Test.Hello", name: String = "tls",
           metadata: Metadata = Metadata()) async throws -> String {
    let body = try JSONEncoder().encode(Hello(name: name))
    let request = RPCRequest(service: "test", endpoint: endpoint, metadata: metadata, deadline: .now() + .seconds(5), body: ByteBuffer(bytes: body))
    let response = try await transport.call(request, to: address)
    return try JSONDecoder().decode(Reply.self, from: Data(response.body.readableBytesView)).message
}

/// The error `body` throws, nil when it returns.
func caught(_ body: () async throws -> Void) async -> (any Error)? {
    do { try await body(); return nil } catch { return error }
}
