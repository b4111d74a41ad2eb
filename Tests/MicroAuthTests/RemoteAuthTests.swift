import Foundation
import JWTKit
import Micro
@testable import MicroAuth
import MicroCore
import MicroHTTP
import NIOCore
import Synchronization
import Testing

/// The auth service (`AuthHandler`) served in process over HTTP on loopback, and `RemoteAuth` using it:
/// who may manage accounts and rules, local verification with the fetched keys, and a service that
/// signs in and checks its calls through it.
@Suite("Remote auth", .serialized)
struct RemoteAuthTests {
    @Test func onlyAnAdminManagesAccountsAndRulesAndTokensVerifyLocally() async throws {
        let served = try await ServedAuth.start()
        defer { Task { await served.stop() } }
        let anonymous = served.remote()
        await expectCode(.unauthorized) { _ = try await anonymous.generate("mallory", options: AccountOptions(scopes: ["admin"])) }
        await expectCode(.invalidCredentials) { _ = try await anonymous.token(.credentials(id: "admin", secret: "wrong")) }

        let admin = served.remote(try await anonymous.token(.credentials(id: "admin", secret: ServedAuth.adminSecret)))
        let alice = try await admin.generate("alice", options: AccountOptions(scopes: ["greeter"], secret: "alice-secret"))
        #expect(alice.id == "alice" && alice.secret == "alice-secret" && alice.scopes == ["greeter"])
        await expectCode(.conflict) { _ = try await admin.generate("alice", options: AccountOptions()) }
        let aliceToken = try await anonymous.token(.credentials(id: "alice", secret: "alice-secret"))
        let asAlice = served.remote(aliceToken)
        let hello = Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello"))
        await expectCode(.forbidden) { try await asAlice.grant(hello) }
        await expectCode(.forbidden) { _ = try await asAlice.accounts() }
        try await admin.grant(hello)
        #expect(try await anonymous.rules().rules == [hello])
        let listed = try await admin.accounts()
        #expect(listed.map(\.id) == ["admin", "alice"] && listed.allSatisfy { $0.secret == nil })

        // Verified here with the service's keys, and the same refusals as JWTAuth.
        #expect(try await anonymous.inspect(aliceToken.accessToken).id == "alice")
        var tampered = aliceToken.accessToken.jwtParts
        tampered[1] = b64url(#"{"sub":"admin","scopes":["admin"]}"#)
        await expectCode(.invalidToken) { _ = try await served.remote().inspect(tampered.joined(separator: ".")) }
        let foreign = testAuth(issuer: "micro")
        _ = try await foreign.generate("alice", options: AccountOptions(scopes: ["admin"], secret: "x"))
        let forged = try await foreign.token(.credentials(id: "alice", secret: "x"))
        await expectCode(.invalidToken) { _ = try await anonymous.inspect(forged.accessToken) }

        // Refresh tokens through the service stay single use.
        let next = try await anonymous.token(.refresh(aliceToken.refreshToken))
        #expect(try await anonymous.inspect(next.accessToken).id == "alice")
        await expectCode(.invalidCredentials) { _ = try await anonymous.token(.refresh(aliceToken.refreshToken)) }

        try await admin.revoke("hello")
        await expectCode(.notFound) { try await admin.revoke("hello") }
        try await admin.deleteAccount("alice")
        await expectCode(.invalidCredentials) { _ = try await anonymous.token(.credentials(id: "alice", secret: "alice-secret")) }
    }

    @Test func anUnknownKeyIdFetchesTheKeysAgainAtMostOnceASecond() async throws {
        let served = try await ServedAuth.start()
        defer { Task { await served.stop() } }
        let remote = served.remote()
        let first = try await remote.token(.credentials(id: "admin", secret: ServedAuth.adminSecret))
        #expect(try await remote.inspect(first.accessToken).id == "admin")
        #expect(served.keyFetches.value == 1)

        try await served.auth.rotateKeys()
        let second = try await remote.token(.credentials(id: "admin", secret: ServedAuth.adminSecret))
        #expect(second.accessToken.jwtParts[0] != first.accessToken.jwtParts[0], "a new key id")
        // Within a second of the last fetch the new key is not fetched yet; after it, it is.
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await remote.inspect(second.accessToken).id == "admin")
        #expect(try await remote.inspect(first.accessToken).id == "admin", "the retired key still verifies")
        #expect(served.keyFetches.value == 2)

        // A flood of made-up key ids costs at most one fetch a second.
        for n in 0..<50 {
            let header = b64url(#"{"alg":"EdDSA","kid":"made-up-\#(n)","typ":"JWT"}"#)
            let parts = second.accessToken.jwtParts
            await expectCode(.invalidToken) { _ = try await remote.inspect([header, parts[1], parts[2]].joined(separator: ".")) }
        }
        #expect(served.keyFetches.value <= 3)
    }

    @Test func aServiceSignsInRefreshesAndChecksCallsThroughTheAuthService() async throws {
        let served = try await ServedAuth.start(accessTTL: .seconds(2))
        defer { Task { await served.stop() } }
        let anonymous = served.remote()
        let admin = served.remote(try await anonymous.token(.credentials(id: "admin", secret: ServedAuth.adminSecret)))
        _ = try await admin.generate("greeter-svc", options: AccountOptions(type: .service, secret: "svc-secret"))
        _ = try await admin.generate("alice", options: AccountOptions(scopes: ["greeter"], secret: "alice-secret"))
        try await admin.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))

        let greeter = try MicroService(
            name: "greeter", options: ServiceOptions(address: "127.0.0.1:0"),
            environment: MicroEnvironment(["MICRO_AUTH": "service", "MICRO_AUTH_ID": "greeter-svc", "MICRO_AUTH_SECRET": "svc-secret",
                                           "MICRO_HOME": NSTemporaryDirectory() + "micro-remote-auth-\(UUID().uuidString.prefix(8))"]),
            plugins: [.jwtAuth], registry: served.registry, broker: MemoryBroker(), store: MemoryStore(),
            transport: (HTTPClientTransport(), HTTPServerTransport()))
        greeter.handle("Greeter.Hello") { (request: HelloRequest, context) in HelloReply(message: "Hello \(request.name) from \(context.account?.id ?? "nobody")") }
        greeter.handle("Greeter.Bye") { (request: HelloRequest, _) in HelloReply(message: "Bye \(request.name)") }
        #expect(greeter.auth is RemoteAuth)
        let task = Task { try await greeter.run() }
        defer { greeter.stop(); task.cancel() }
        #expect(await waitUntil(timeout: .seconds(10)) { (try? await served.registry.getService("greeter").first?.nodes.isEmpty == false) ?? false })
        let signedIn = try #require(greeter.credentials.token, "the greeter signed in at start")
        #expect(try await anonymous.inspect(signedIn.accessToken).type == .service)

        let aliceToken = try await anonymous.token(.credentials(id: "alice", secret: "alice-secret"))
        let client = served.client()
        let as_alice = CallOptions(retries: 0, metadata: [BearerToken.header: BearerToken.value(aliceToken.accessToken)])
        let reply: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "Alice"), options: as_alice)
        #expect(reply.message == "Hello Alice from alice")
        await #expect { let _: HelloReply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "x"), options: CallOptions(retries: 0)) }
            throws: { ($0 as? MicroError)?.code == 401 }
        await #expect { let _: HelloReply = try await client.call("greeter", "Greeter.Bye", HelloRequest(name: "x"), options: as_alice) }
            throws: { ($0 as? MicroError)?.code == 403 }

        // The service's own token, 2 s long, is refreshed at three quarters of its life.
        #expect(await waitUntil(timeout: .seconds(6)) { greeter.credentials.token?.accessToken != signedIn.accessToken })
        let refreshed = try #require(greeter.credentials.token)
        #expect(try await anonymous.inspect(refreshed.accessToken).id == "greeter-svc")
    }

    @Test func malformedAnswersAndRequestsAreRefusedWithTypedErrors() async throws {
        // Key sets that must not be used.
        let good = JWKSet.Key(kid: "k", x: b64url([UInt8](repeating: 7, count: 32)))
        #expect(throws: Never.self) { try JWKSet(keys: [good]).verifyingKeys() }
        var rsa = good; rsa.kty = "RSA"
        var short = good; short.x = b64url([UInt8](repeating: 7, count: 16))
        var noKid = good; noKid.kid = ""
        var hs = good; hs.alg = "HS256"
        for bad in [JWKSet(keys: [rsa]), JWKSet(keys: [short]), JWKSet(keys: [noKid]), JWKSet(keys: [hs]),
                    JWKSet(keys: Array(repeating: good, count: JWKSet.maxKeys + 1))] {
            #expect(throws: AuthError.self) { try bad.verifyingKeys() }
        }
        // A rule without a known access, or without a full resource, is refused.
        for text in [#"{"id":"r","scope":"","resource":{"type":"service","name":"a","endpoint":"*"},"access":"UNKNOWN"}"#,
                     #"{"id":"r","scope":"","resource":{"type":"service","name":"a"},"access":"GRANTED"}"#,
                     #"{"id":"r","scope":"","resource":{"type":"service","name":"a","endpoint":"*"},"access":7}"#] {
            let rule = try JSONDecoder().decode(AuthWire.Rule.self, from: Data(text.utf8))
            #expect(throws: AuthError.self) { try rule.rule() }
        }
        // Bytes that are not a request, and oversized credentials, get errors from the service.
        let served = try await ServedAuth.start()
        defer { Task { await served.stop() } }
        let client = served.client()
        for body in ["{", "[]", #"{"id":5}"#, "\u{0}"] {
            await #expect(throws: MicroError.self) {
                _ = try await client.callRaw(AuthHandler.serviceName, "Auth.Token", body: ByteBuffer(string: body), options: CallOptions(retries: 0))
            }
        }
        let huge = String(repeating: "s", count: 4096)
        await expectCode(.invalidCredentials) { _ = try await served.remote().token(.credentials(id: "admin", secret: huge)) }
        let admin = served.remote(try await served.remote().token(.credentials(id: "admin", secret: ServedAuth.adminSecret)))
        await expectCode(.invalidArgument) { try await admin.grant(Rule(id: "", scope: "", resource: Resource(type: "*", name: "*", endpoint: "*"))) }
    }
}

/// An auth service on its own memory registry over HTTP on loopback, its first admin made with
/// ``adminSecret``, counting `Auth.Keys` calls.
final class ServedAuth: Sendable {
    static let adminSecret = "admin-secret"
    let service: MicroService
    let registry: MemoryRegistry
    let auth: JWTAuth
    let keyFetches: Calls
    private let task: Task<Void, any Error>

    final class Calls: HandlerWrapper {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func handle(_ request: RPCRequest, context: HandlerContext,
                    next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse) async throws -> RPCResponse {
            if request.endpoint == "Auth.Keys" { count.withLock { $0 += 1 } }
            return try await next(request, context)
        }
    }

    private init(service: MicroService, registry: MemoryRegistry, auth: JWTAuth, keyFetches: Calls, task: Task<Void, any Error>) {
        self.service = service
        self.registry = registry
        self.auth = auth
        self.keyFetches = keyFetches
        self.task = task
    }

    static func start(accessTTL: Duration = .seconds(900)) async throws -> ServedAuth {
        let registry = MemoryRegistry()
        let auth = testAuth(accessTTL: accessTTL)
        let handler = AuthHandler(auth: auth)
        _ = try #require(try await handler.bootstrap(adminSecret: adminSecret))
        #expect(try await handler.bootstrap(adminSecret: "another") == nil, "only when there is no account")
        let service = try MicroService(name: AuthHandler.serviceName, options: ServiceOptions(drainTimeout: .seconds(1)),
                                       environment: MicroEnvironment([:]), registry: registry, broker: MemoryBroker(), store: MemoryStore(),
                                       transport: (HTTPClientTransport(), HTTPServerTransport()))
        let keyFetches = Calls()
        service.use(keyFetches)
        service.register(handler)
        let task = Task { try await service.run() }
        let served = ServedAuth(service: service, registry: registry, auth: auth, keyFetches: keyFetches, task: task)
        for _ in 0..<500 {
            if let nodes = try? await registry.getService(AuthHandler.serviceName).first?.nodes, !nodes.isEmpty { return served }
            try await Task.sleep(for: .milliseconds(10))
        }
        await served.stop()
        throw MicroError.unavailable("test", "the auth service never registered")
    }

    /// A client on the service's registry.
    func client() -> Client {
        Client(registry: registry, transports: [HTTPClientTransport()], broker: MemoryBroker(), defaults: CallOptions(retries: 0))
    }

    /// A remote auth calling the service, sending `token` when given.
    func remote(_ token: AuthToken? = nil) -> RemoteAuth {
        var options = CallOptions(retries: 0)
        if let token { options.metadata[BearerToken.header] = BearerToken.value(token.accessToken) }
        return RemoteAuth(client: client(), options: options)
    }

    func stop() async {
        service.stop()
        _ = try? await task.value
    }
}

/// Expects `body` to throw an ``AuthError`` with `code`.
func expectCode(_ code: AuthError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as AuthError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Whether `condition` holds within `timeout`, checked every 20 ms.
func waitUntil(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
