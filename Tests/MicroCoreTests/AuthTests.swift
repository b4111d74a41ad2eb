import Foundation
import Logging
import MicroCore
import NIOCore
import ServiceLifecycle
import Testing

@Suite("Auth rules")
struct RuleSetTests {
    static let hello = Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")
    static let bye = Resource(type: "service", name: "greeter", endpoint: "Greeter.Bye")
    static let alice = Account(id: "alice", scopes: ["greeter"])
    static let bob = Account(id: "bob", scopes: ["admin"])

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var rules: [Rule]
        var account: Account?
        var resource: Resource
        var expected: RuleAccess
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no rules: everything is open", rules: [], account: nil, resource: hello, expected: .granted),
        Case(name: "a rule exists: anything it does not grant is denied", rules: [
            Rule(id: "r", scope: "greeter", resource: hello),
        ], account: nil, resource: bye, expected: .denied),
        Case(name: "scope held: granted", rules: [Rule(id: "r", scope: "greeter", resource: hello)],
             account: alice, resource: hello, expected: .granted),
        Case(name: "scope not held: denied", rules: [Rule(id: "r", scope: "greeter", resource: hello)],
             account: bob, resource: hello, expected: .denied),
        Case(name: "public scope lets in callers without a token", rules: [Rule(id: "r", scope: Rule.publicScope, resource: hello)],
             account: nil, resource: hello, expected: .granted),
        Case(name: "account scope needs an account", rules: [Rule(id: "r", scope: Rule.accountScope, resource: hello)],
             account: nil, resource: hello, expected: .denied),
        Case(name: "account scope lets in any account", rules: [Rule(id: "r", scope: Rule.accountScope, resource: hello)],
             account: bob, resource: hello, expected: .granted),
        Case(name: "wildcards match type, name and endpoint", rules: [
            Rule(id: "r", scope: "admin", resource: Resource(type: "*", name: "*", endpoint: "*")),
        ], account: bob, resource: bye, expected: .granted),
        Case(name: "another service's name does not match", rules: [
            Rule(id: "r", scope: "greeter", resource: Resource(type: "service", name: "other", endpoint: "*")),
        ], account: alice, resource: hello, expected: .denied),
        Case(name: "higher priority wins", rules: [
            Rule(id: "deny", scope: "greeter", resource: hello, access: .denied, priority: 1),
            Rule(id: "grant", scope: "greeter", resource: hello, access: .granted, priority: 2),
        ], account: alice, resource: hello, expected: .granted),
        Case(name: "denial wins at equal priority", rules: [
            Rule(id: "a-grant", scope: "greeter", resource: hello, access: .granted, priority: 5),
            Rule(id: "z-deny", scope: Rule.accountScope, resource: hello, access: .denied, priority: 5),
        ], account: alice, resource: hello, expected: .denied),
        Case(name: "a denial for a scope not held is skipped", rules: [
            Rule(id: "deny-admins", scope: "admin", resource: hello, access: .denied, priority: 9),
            Rule(id: "grant", scope: "greeter", resource: hello),
        ], account: alice, resource: hello, expected: .granted),
        Case(name: "path wildcard covers paths under it", rules: [
            Rule(id: "r", scope: Rule.publicScope, resource: Resource(type: "service", name: "web", endpoint: "/foo/*")),
        ], account: nil, resource: Resource(type: "service", name: "web", endpoint: "/foo/bar/baz"), expected: .granted),
        Case(name: "path wildcard does not cover a sibling prefix", rules: [
            Rule(id: "r", scope: Rule.publicScope, resource: Resource(type: "service", name: "web", endpoint: "/foo/*")),
        ], account: nil, resource: Resource(type: "service", name: "web", endpoint: "/foobar"), expected: .denied),
        Case(name: "topic rules do not grant service calls", rules: [
            Rule(id: "r", scope: "greeter", resource: Resource(type: "topic", name: "*", endpoint: "*")),
        ], account: alice, resource: hello, expected: .denied),
    ]

    @Test(arguments: cases)
    func verify(_ c: Case) {
        #expect(RuleSet(c.rules).verify(account: c.account, resource: c.resource) == c.expected)
    }

    @Test func parsesGoMicroResourceForm() throws {
        #expect(Resource(parsing: "service:greeter:Greeter.Hello") == Self.hello)
        #expect(Resource(parsing: "*:*:*") == Resource(type: "*", name: "*", endpoint: "*"))
        #expect(Resource(parsing: "service:greeter") == nil)
        #expect(Resource(parsing: "service::x") == nil)
    }
}

@Suite("Bearer token")
struct BearerTokenTests {
    @Test func readsTheTokenWhateverTheSchemeCase() throws {
        #expect(try BearerToken.parse("Bearer abc.def-ghi_j") == "abc.def-ghi_j")
        #expect(try BearerToken.parse("bearer abc") == "abc")
        #expect(try BearerToken.parse("BEARER abc") == "abc")
        #expect(try BearerToken.token(in: Metadata(["AUTHORIZATION": "Bearer abc"])) == "abc")
        #expect(try BearerToken.token(in: Metadata()) == nil)
    }

    @Test(arguments: ["Basic abc", "Bearer", "Bearer ", "Bearer a b", "Bearer a, Bearer b", "Bearer a\u{0}", "Bearer\tabc", "Token abc",
                      "BEARER\u{0}abc", "Bearer ä"])
    func refusesMalformedValues(_ value: String) {
        #expect(throws: AuthError.self) { try BearerToken.parse(value) }
    }

    @Test func acceptsExactlyTheToken68CharactersInAToken() {
        let token68 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=".utf8)
        for byte in UInt8(0)...UInt8(127) {
            let value = "Bearer a" + String(decoding: [byte], as: UTF8.self) + "b"
            #expect(((try? BearerToken.parse(value)) != nil) == token68.contains(byte), "byte \(byte)")
        }
        #expect(throws: AuthError.self) { try BearerToken.parse("Bearer aé") }
    }

    @Test func refusesAnOversizedToken() throws {
        let big = "Bearer " + String(repeating: "a", count: BearerToken.maxLength + 1)
        #expect(throws: AuthError.self) { try BearerToken.parse(big) }
        #expect(try BearerToken.parse("Bearer " + String(repeating: "a", count: BearerToken.maxLength)).utf8.count == BearerToken.maxLength)
    }

    @Test func refusesAHeaderMapWithAuthorizationTwice() throws {
        #expect(throws: AuthError.self) { try BearerToken.token(in: ["Authorization": "Bearer a", "authorization": "Bearer b"]) }
        #expect(try BearerToken.token(in: ["AUTHORIZATION": "Bearer a"]) == "a")
    }

    @Test func repeatedHeadersArriveJoinedAndAreRefused() throws {
        let fields: [(name: String, value: String)] = [("Micro-Endpoint", "Greeter.Hello"), ("Authorization", "Bearer a"), ("authorization", "Bearer b")]
        let request = try RPCHeaders.request(fields, body: ByteBuffer())
        #expect(throws: AuthError.self) { try BearerToken.token(in: request.metadata) }
    }
}

@Suite("Memory auth and wrappers")
struct MemoryAuthTests {
    func greeterRouter(_ auth: any Auth) -> Router {
        let router = Router(serviceName: "greeter")
        router.use(AuthHandlerWrapper(auth: auth))
        router.handle("Greeter.Hello") { (req: HelloRequest, ctx: HandlerContext) in
            HelloReply(message: "Hello \(req.name) from \(ctx.account?.id ?? "nobody") \(ctx.metadata["authorization"] ?? "")")
        }
        router.handle("Greeter.Bye") { (req: HelloRequest, _: HandlerContext) in HelloReply(message: "Bye \(req.name)") }
        return router
    }

    func call(_ router: Router, _ endpoint: String, token: String?) async -> Result<String, MicroError> {
        var metadata = Metadata()
        if let token { metadata["Authorization"] = BearerToken.value(token) }
        return await router.handle(request(endpoint, #"{"name":"x"}"#, metadata: metadata)).map { String(buffer: $0.body) }
    }

    @Test func grantsDeniesAndTellsUnauthenticatedFromForbidden() async throws {
        let auth = MemoryAuth()
        let alice = try await auth.generate("alice", options: AccountOptions(scopes: ["greeter"]))
        _ = try await auth.generate("bob", options: AccountOptions(scopes: ["other"], secret: "bob-secret"))
        try await auth.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        try await auth.grant(Rule(id: "health", scope: Rule.publicScope, resource: Resource(type: "service", name: "greeter", endpoint: "Debug.Health")))
        let aliceToken = try await auth.token(.credentials(id: "alice", secret: try #require(alice.secret)))
        let bobToken = try await auth.token(.credentials(id: "bob", secret: "bob-secret"))
        let router = greeterRouter(auth)

        let ok = try await call(router, "Greeter.Hello", token: aliceToken.accessToken).get()
        #expect(ok == #"{"message":"Hello x from alice "}"#)  // the account, not the token, reaches the handler
        #expect(await call(router, "Greeter.Hello", token: nil).failure?.code == 401)
        #expect(await call(router, "Greeter.Hello", token: bobToken.accessToken).failure?.code == 403)
        #expect(await call(router, "Greeter.Bye", token: aliceToken.accessToken).failure?.code == 403)
        #expect(await call(router, "Greeter.Hello", token: "forged").failure?.code == 401)
        #expect((try? await call(router, "Debug.Health", token: nil).get()) != nil)
    }

    /// The wrapper decides from the tokens and rules the auth holds when it can; what it decides must
    /// be what inspecting and reading the rules decides, and a rule change applies to the next call.
    @Test func callsAdmittedFromWhatTheAuthHoldsFollowTheRulesAsTheyChange() async throws {
        let auth = MemoryAuth()
        let alice = try await auth.generate("alice", options: AccountOptions(scopes: ["greeter"]))
        let token = try await auth.token(.credentials(id: "alice", secret: try #require(alice.secret))).accessToken
        let hello = Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")
        try await auth.grant(Rule(id: "public", scope: Rule.publicScope, resource: hello))
        let router = greeterRouter(auth)
        #expect(try await call(router, "Greeter.Hello", token: nil).get() == #"{"message":"Hello x from nobody "}"#)
        #expect(try await call(router, "Greeter.Hello", token: token).get() == #"{"message":"Hello x from alice "}"#)
        // A sent but malformed or unknown token is refused even where the public may call.
        for bad in ["Basic \(token)", "Bearer \(token), Bearer \(token)", "Bearer", "Bearer forged"] {
            let r = await router.handle(request("Greeter.Hello", #"{"name":"x"}"#, metadata: ["Authorization": bad]))
            #expect(r.failure?.code == 401, "\(bad)")
        }
        let lower = await router.handle(request("Greeter.Hello", #"{"name":"x"}"#, metadata: ["authorization": "bEaReR \(token)"]))
        #expect((try? lower.get()) != nil, "the scheme matches in any case")

        try await auth.grant(Rule(id: "deny-alice", scope: "greeter", resource: hello, access: .denied, priority: 10))
        #expect(await call(router, "Greeter.Hello", token: token).failure?.code == 403)
        #expect((try? await call(router, "Greeter.Hello", token: nil).get()) != nil)
        try await auth.revoke("public")
        #expect(await call(router, "Greeter.Hello", token: nil).failure?.code == 401)
        try await auth.revoke("deny-alice")
        #expect((try? await call(router, "Greeter.Hello", token: nil).get()) != nil, "no rules: nothing is secured yet")
        try await auth.grant(Rule(id: "any", scope: Rule.accountScope, resource: Resource(type: "service", name: "greeter", endpoint: "*")))
        #expect(try await call(router, "Greeter.Hello", token: token).get() == #"{"message":"Hello x from alice "}"#)
        #expect(await call(router, "Greeter.Hello", token: nil).failure?.code == 401)
    }

    @Test func healthIsNotPublicUnlessARuleSaysSo() async throws {
        let auth = MemoryAuth()
        try await auth.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        #expect(await call(greeterRouter(auth), "Debug.Health", token: nil).failure?.code == 401)
    }

    @Test func anInvalidTokenIsRefusedEvenWithoutRules() async {
        #expect(await call(greeterRouter(MemoryAuth()), "Greeter.Hello", token: "nope").failure?.code == 401)
    }

    @Test func wrongSecretsAndRefreshReplay() async throws {
        let auth = MemoryAuth()
        _ = try await auth.generate("svc", options: AccountOptions(type: .service, secret: "s3cret"))
        await #expect(throws: AuthError.self) { try await auth.token(.credentials(id: "svc", secret: "s3cret!")) }
        await #expect(throws: AuthError.self) { try await auth.token(.credentials(id: "nobody", secret: "s3cret")) }
        let first = try await auth.token(.credentials(id: "svc", secret: "s3cret"))
        let second = try await auth.token(.refresh(first.refreshToken))
        #expect(try await auth.inspect(second.accessToken).id == "svc")
        // Replaying the used refresh token fails and revokes the whole chain, the new pair included.
        await #expect(throws: AuthError.self) { try await auth.token(.refresh(first.refreshToken)) }
        await #expect(throws: AuthError.self) { try await auth.inspect(second.accessToken) }
        await #expect(throws: AuthError.self) { try await auth.token(.refresh(second.refreshToken)) }
    }

    @Test func expiredTokensAreRefused() async throws {
        let auth = MemoryAuth(accessTTL: .milliseconds(50))
        _ = try await auth.generate("u", options: AccountOptions(secret: "pw"))
        let token = try await auth.token(.credentials(id: "u", secret: "pw"))
        try await Task.sleep(for: .milliseconds(80))
        await #expect(throws: AuthError.self) { try await auth.inspect(token.accessToken) }
    }

    @Test func accountsRulesAndDeletion() async throws {
        let auth = MemoryAuth()
        let generated = try await auth.generate("u", options: AccountOptions(secret: "pw"))
        #expect(generated.secret == "pw")
        await #expect(throws: AuthError.self) { try await auth.generate("u", options: AccountOptions()) }
        #expect(try await auth.accounts().map(\.secret) == [nil])
        let token = try await auth.token(.credentials(id: "u", secret: "pw"))
        try await auth.deleteAccount("u")
        await #expect(throws: AuthError.self) { try await auth.inspect(token.accessToken) }
        await #expect(throws: AuthError.self) { try await auth.revoke("missing") }
    }

    @Test func subscriberWrapperRefusesAnUnauthenticatedPublish() async throws {
        let auth = MemoryAuth()
        _ = try await auth.generate("pub", options: AccountOptions(type: .service, scopes: ["publisher"], secret: "pw"))
        try await auth.grant(Rule(id: "t", scope: "publisher", resource: Resource(type: "topic", name: "greetings", endpoint: "*")))
        let wrapper = AuthSubscriberWrapper(auth: auth)
        let delivered = Locked<[[String: String]]>([])
        let event = BrokerEvent(topic: "greetings", message: BrokerMessage(header: ["Micro-Topic": "greetings"], body: []))
        await #expect(throws: AuthError.self) { try await wrapper.handle(event) { e in delivered.withLock { $0.append(e.message.header) } } }

        let credentials = ServiceCredentials()
        credentials.update(try await auth.token(.credentials(id: "pub", secret: "pw")))
        let published = Locked<BrokerMessage?>(nil)
        try await AuthPublishWrapper(credentials: credentials).publish("greetings", event.message) { _, m in published.withLock { $0 = m } }
        let signed = try #require(published.value)
        try await wrapper.handle(BrokerEvent(topic: "greetings", message: signed)) { e in delivered.withLock { $0.append(e.message.header) } }
        #expect(delivered.value.count == 1)
        #expect(delivered.value.first?["Authorization"] == nil)
    }

    @Test func callWrapperAttachesTheServiceTokenUnlessOneIsSet() async throws {
        let credentials = ServiceCredentials()
        credentials.update(AuthToken(accessToken: "svc-token", refreshToken: "r", created: Date(), expiry: Date() + 60))
        let wrapper = AuthCallWrapper(credentials: credentials)
        let seen = Locked<[String]>([])
        let respond: @Sendable (RPCRequest) async throws -> RPCResponse = { r in
            seen.withLock { $0.append(r.metadata["authorization"] ?? "") }
            return RPCResponse(contentType: "application/json", body: ByteBuffer())
        }
        _ = try await wrapper.call(request("Greeter.Hello", "{}"), next: respond)
        _ = try await wrapper.call(request("Greeter.Hello", "{}", metadata: ["Authorization": "Bearer user"]), next: respond)
        #expect(seen.value == ["Bearer svc-token", "Bearer user"])
    }

    @Test func refresherSignsInAndRefreshesBeforeExpiry() async throws {
        let auth = MemoryAuth(accessTTL: .milliseconds(400))
        _ = try await auth.generate("svc", options: AccountOptions(type: .service, secret: "pw"))
        let credentials = ServiceCredentials()
        let refresher = ServiceTokenRefresher(auth: auth, id: "svc", secret: "pw", credentials: credentials)
        try await refresher.signIn()
        let first = try #require(credentials.token)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: refresher)], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        #expect(await waitUntil(timeout: .seconds(10)) { credentials.token != first })
        // It refreshed with the refresh token (now used up), not by signing in again.
        await #expect(throws: AuthError.self) { try await auth.token(.refresh(first.refreshToken)) }
        task.cancel()
        _ = await task.result
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
}
