import Micro
import MicroAddress
import MicroAuth
import NIOCore

/// The greeter behind `AuthHandlerWrapper` with a JWTAuth on a memory store: one account holding scope
/// `greeter` and one rule granting it `Greeter.Hello` (`micro-bench rpc --auth`).
struct AuthBenchServer {
    let listener: any TransportListener
    let serving: Task<Void, Never>
    /// `Bearer <access token>` of the account the rule grants.
    let authorization: String
    var port: Int { (try? HostPort(parsing: listener.address).port) ?? 0 }

    static func start(group: any EventLoopGroup) async throws -> AuthBenchServer {
        let (router, authorization) = try await Self.router()
        let listener = try await HTTPServerTransport(group: group).listen(on: "127.0.0.1:0", handler: router)
        let serving = Task { _ = try? await listener.run() }
        return AuthBenchServer(listener: listener, serving: serving, authorization: authorization)
    }

    /// The secured greeter's router and the `Authorization` value its rule grants.
    static func router() async throws -> (router: Router, authorization: String) {
        let auth = JWTAuth(store: MemoryStore())
        _ = try await auth.generate("bench", options: AccountOptions(type: .service, scopes: ["greeter"], secret: "bench-secret"))
        try await auth.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        let token = try await auth.token(.credentials(id: "bench", secret: "bench-secret"))
        let router = Router(serviceName: "greeter")
        router.use(AuthHandlerWrapper(auth: auth))
        router.handle("Greeter.Hello") { (request: HelloRequest, context: HandlerContext) in
            guard context.account?.id == "bench" else { throw MicroError.internalServerError("greeter", "no account") }
            return HelloReply(message: "Hello \(request.name)")
        }
        return (router, BearerToken.value(token.accessToken))
    }

    func shutdown() async {
        await listener.shutdown(gracePeriod: .seconds(1))
        await serving.value
    }
}
