import Foundation
import Logging
import Micro
import MicroAuth
import MicroCore
@testable import MicroGRPC
import MicroHTTP
import MicroNATS
import MicroTestSupport
import NIOCore
import Synchronization

struct HelloRequest: Codable, Sendable { var name: String }
struct HelloReply: Codable, Sendable, Equatable { var message: String }
struct Greeting: Codable, Sendable { var text: String }

/// The greeter secured with one account that may say hello and two rules (README, "Securing the
/// greeter"): `alice` holds scope `greeter`; rule `hello` grants that scope `Greeter.Hello`, rule
/// `health` makes `Debug.Health` public. `bob` holds another scope. Everything else is denied.
struct SecuredGreeter {
    let auth: JWTAuth
    let alice: AuthToken
    let bob: AuthToken
    /// How many times a handler ran (a refused call never runs one).
    let handled = Counter()
    let received = Counter()

    final class Counter: Sendable {
        private let box = Mutex(0)
        func add() { box.withLock { $0 += 1 } }
        var value: Int { box.withLock { $0 } }
    }

    static func make(logger: Logger? = nil) async throws -> SecuredGreeter {
        let auth = testAuth()
        _ = try await auth.generate("alice", options: AccountOptions(scopes: ["greeter"], secret: "alice-secret"))
        _ = try await auth.generate("bob", options: AccountOptions(scopes: ["billing"], secret: "bob-secret"))
        try await auth.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        try await auth.grant(Rule(id: "health", scope: Rule.publicScope, resource: Resource(type: "service", name: "greeter", endpoint: "Debug.Health")))
        return SecuredGreeter(auth: auth, alice: try await auth.token(.credentials(id: "alice", secret: "alice-secret")),
                              bob: try await auth.token(.credentials(id: "bob", secret: "bob-secret")))
    }

    /// The greeter service on the transport `environment` chooses, with the auth wrappers.
    func service(_ environment: [String: String], registry: any Registry, logger: Logger? = nil) throws -> MicroService {
        var env = environment
        env["MICRO_HOME"] = env["MICRO_HOME"] ?? NSTemporaryDirectory() + "micro-auth-\(UUID().uuidString.prefix(8))"
        let service = try MicroService(name: "greeter", options: ServiceOptions(address: "127.0.0.1:0"), environment: MicroEnvironment(env),
                                       plugins: [.nats, .grpc], registry: registry, store: MemoryStore(), logger: logger)
        service.use(AuthHandlerWrapper(auth: auth))
        service.use(AuthSubscriberWrapper(auth: auth))
        let handled = self.handled
        // Greeter.Hello, also on its proto path /greeter.v1.Greeter/Hello over gRPC.
        service.router.register(EndpointHandler(
            endpoint: Endpoint(name: "Greeter.Hello", metadata: [GRPCMethodPath.serviceKey: "greeter.v1.Greeter"]), kind: .unary,
            body: .unary { request, context, codec in
                handled.add()
                let hello = try codec.decodeValue(HelloRequest.self, from: request.body)
                return try codec.encodeValue(HelloReply(message: "Hello \(hello.name) from \(context.account?.id ?? "nobody")"))
            }))
        service.handle("Greeter.Bye") { (request: HelloRequest, _) in
            handled.add()
            return HelloReply(message: "Bye \(request.name)")
        }
        let received = self.received
        service.subscribe("greetings") { (_: Greeting, _: SubscriberContext) in received.add() }
        return service
    }

    /// Runs the service until `body` returns.
    func running<T: Sendable>(_ service: MicroService, _ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await service.run(); return nil }
            defer { service.stop() }
            // Registered: listening, subscribed, and in the registry.
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if try await !service.registry.getService("greeter").flatMap(\.nodes).isEmpty { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let result = try await body()
            service.stop()
            for try await _ in group {}
            return result
        }
    }
}

/// A client finding nodes in `registry`, able to call over every transport, with no auth of its own.
func plainClient(_ registry: any Registry, nats: String? = nil) -> Client {
    var transports: [any ClientTransport] = [HTTPClientTransport(), GRPCClientTransport()]
    if let nats { transports.append(NATSClientTransport(options: NATSOptions(servers: [nats]))) }
    var defaults = CallOptions(timeout: .seconds(5), retries: 0)
    defaults.backoff = { _ in .zero }
    return Client(registry: registry, transports: transports, broker: MemoryBroker(), defaults: defaults, codecs: .withGRPCContentTypes)
}

extension Client {
    /// Calls `endpoint` on the greeter with `authorization` (nil: none); the MicroError code of a failure.
    func hello(_ endpoint: String = "Greeter.Hello", authorization: String?) async -> Result<HelloReply, MicroError> {
        var options = CallOptions(timeout: .seconds(5), retries: 0)
        if let authorization { options.metadata["Authorization"] = authorization }
        do {
            let reply: HelloReply = try await call("greeter", endpoint, HelloRequest(name: "x"), options: options)
            return .success(reply)
        } catch {
            return .failure(MicroError.from(error, id: "test"))
        }
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
}
