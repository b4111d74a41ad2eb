import Crypto
import Foundation
import JWTKit
@testable import MicroAuth
import MicroCore
import NIOCore
import Testing

/// Every way of presenting a token that must not work, each its own test (issue 19, Deliver 6).
/// The clock skew tolerated is the configuration's default leeway, 30 s.
@Suite("JWT attacks")
struct JWTAuthAttackTests {
    let store = MemoryStore()
    let auth: JWTAuth
    let token: AuthToken

    init() async throws {
        auth = testAuth(store)
        _ = try await auth.generate("alice", options: AccountOptions(scopes: ["greeter"], secret: "alice-secret"))
        token = try await auth.token(.credentials(id: "alice", secret: "alice-secret"))
    }

    /// A fresh auth on the same store: nothing cached, so every check runs.
    var verifier: JWTAuth { testAuth(store) }

    func expectRefused(_ token: String, _ comment: Comment? = nil) async {
        await #expect(throws: AuthError.self, comment) { try await verifier.inspect(token) }
    }

    /// The current signing key, read from the store as only the auth itself (or a thief) could.
    func signingKey() async throws -> (kid: String, key: Curve25519.Signing.PrivateKey) {
        let records = try await store.scoped(auth.configuration.scope).entries(StoreQuery(prefix: "key/"), as: SigningKeyRecord.self)
        let record = try #require(records.first?.value)
        let raw = try #require(JOSEHeader.base64URLDecode(record.privateKey.utf8))
        return (record.kid, try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
    }

    /// A token with chosen claims, properly signed with the auth's own key.
    func signed(_ edit: (inout AccessClaims) -> Void) async throws -> String {
        let (kid, key) = try await signingKey()
        let now = Date()
        var claims = AccessClaims(account: Account(id: "alice", issuer: "micro", scopes: ["greeter"]), audience: "micro", issued: now,
                                  expiry: now + 600)
        edit(&claims)
        let keys = JWTKeyCollection()
        await keys.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }

    @Test func theGenuineTokenIsAccepted() async throws {
        #expect(try await verifier.inspect(token.accessToken) == Account(id: "alice", issuer: "micro", scopes: ["greeter"]))
    }

    @Test func aTamperedSignatureIsRefused() async throws {
        var parts = token.accessToken.jwtParts
        var signature = Array(try #require(JOSEHeader.base64URLDecode(parts[2].utf8)))
        signature[5] ^= 0x01
        parts[2] = b64url(signature)
        await expectRefused(parts.joined(separator: "."))
    }

    @Test func aTamperedPayloadIsRefused() async throws {
        var parts = token.accessToken.jwtParts
        let payload = String(decoding: try #require(JOSEHeader.base64URLDecode(parts[1].utf8)), as: UTF8.self)
        parts[1] = b64url(payload.replacingOccurrences(of: "\"greeter\"", with: "\"admin\""))
        #expect(parts[1] != token.accessToken.jwtParts[1])
        await expectRefused(parts.joined(separator: "."))
    }

    @Test func aTamperedPayloadIsRefusedWhileTheGenuineTokenIsCached() async throws {
        // The verified-token cache hashes a token by its ending (the signature's): a token with the
        // genuine one's signature and another payload shares its hash and must still miss.
        #expect(try await auth.inspect(token.accessToken).scopes == ["greeter"])
        var parts = token.accessToken.jwtParts
        let payload = String(decoding: try #require(JOSEHeader.base64URLDecode(parts[1].utf8)), as: UTF8.self)
        parts[1] = b64url(payload.replacingOccurrences(of: "\"greeter\"", with: "\"admin\""))
        await #expect(throws: AuthError.self) { try await auth.inspect(parts.joined(separator: ".")) }
        #expect(try await auth.inspect(token.accessToken).scopes == ["greeter"])
    }

    /// The wrapper admits a token it verified before from the cache, found by the header's own bytes:
    /// a token with the same length and signature (so the same hash) and one payload byte changed must
    /// miss and be refused, a duplicated header too, and a rule change applies to the next call.
    @Test func theWrapperAdmitsOnlyTheVerifiedTokenFromItsCache() async throws {
        struct Greeting: Codable, Sendable { var name: String }
        try await auth.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        let router = Router(serviceName: "greeter")
        router.use(AuthHandlerWrapper(auth: auth))
        router.handle("Greeter.Hello") { (_: Greeting, ctx: HandlerContext) in
            Greeting(name: "\(ctx.account?.id ?? "nobody") \(ctx.metadata["authorization"] ?? "")")
        }
        func call(_ authorization: String) async -> Result<String, MicroError> {
            await router.handle(RPCRequest(service: "greeter", endpoint: "Greeter.Hello", contentType: "application/json",
                                           metadata: ["Authorization": authorization], id: "1", body: ByteBuffer(string: #"{"name":"x"}"#)))
                .map { String(buffer: $0.body) }
        }
        let genuine = token.accessToken
        #expect(try await call("Bearer " + genuine).get() == #"{"name":"alice "}"#)
        #expect(try await call("bearer " + genuine).get() == #"{"name":"alice "}"#, "cached now; the scheme in any case")

        var parts = genuine.jwtParts
        let payload = String(decoding: try #require(JOSEHeader.base64URLDecode(parts[1].utf8)), as: UTF8.self)
        parts[1] = b64url(payload.replacingOccurrences(of: "\"greeter\"", with: "\"greetez\""))
        let tampered = parts.joined(separator: ".")
        #expect(tampered.utf8.count == genuine.utf8.count && tampered.suffix(32) == genuine.suffix(32) && tampered != genuine)
        #expect(await call("Bearer " + tampered).failure?.code == 401)
        #expect(await call("Bearer " + genuine + ", Bearer " + genuine).failure?.code == 401)
        #expect(await call("Bearer " + genuine + "x").failure?.code == 401)
        #expect(await call("Basic " + genuine).failure?.code == 401)

        try await auth.revoke("hello")
        try await auth.grant(Rule(id: "others", scope: "other", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        #expect(await call("Bearer " + genuine).failure?.code == 403, "the new rules apply at once")
        try await auth.grant(Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello")))
        #expect(try await call("Bearer " + genuine).get() == #"{"name":"alice "}"#)
    }

    @Test func algNoneIsRefused() async throws {
        let kid = try await signingKey().kid
        let payload = token.accessToken.jwtParts[1]
        for header in [#"{"alg":"none","typ":"JWT","kid":"\#(kid)"}"#, #"{"alg":"None","kid":"\#(kid)"}"#, #"{"alg":"none"}"#] {
            await expectRefused("\(b64url(header)).\(payload).", "empty signature: \(header)")
            await expectRefused("\(b64url(header)).\(payload).\(token.accessToken.jwtParts[2])", "kept signature: \(header)")
        }
    }

    @Test func hs256SignedWithThePublicKeyIsRefused() async throws {
        let (kid, key) = try await signingKey()
        let jwks = try await auth.jwks()
        let x = try #require((try JSONSerialization.jsonObject(with: Data(jwks.utf8)) as? [String: [[String: String]]])?["keys"]?.first?["x"])
        let payload = token.accessToken.jwtParts[1]
        // Key confusion: the public key (raw, as JWKS text, as PEM) used as an HMAC secret.
        let secrets: [[UInt8]] = [Array(key.publicKey.rawRepresentation), Array(x.utf8), Array(key.publicKey.pemRepresentation.utf8)]
        for secret in secrets {
            let header = b64url(#"{"alg":"HS256","typ":"JWT","kid":"\#(kid)"}"#)
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(header).\(payload)".utf8), using: SymmetricKey(data: secret))
            await expectRefused("\(header).\(payload).\(b64url(Array(mac)))")
        }
    }

    @Test func anUnknownKidIsRefused() async throws {
        let stranger = Curve25519.Signing.PrivateKey()
        let keys = JWTKeyCollection()
        await keys.add(eddsa: EdDSA.PrivateKey(backing: stranger), kid: "stranger")
        let claims = AccessClaims(account: Account(id: "alice", issuer: "micro", scopes: ["admin"]), audience: "micro", issued: Date(),
                                  expiry: Date() + 600)
        await expectRefused(try await keys.sign(claims, kid: "stranger"))
        // The stranger's signature under the real key id does not verify either.
        let kid = try await signingKey().kid
        let relabelled = try await keys.sign(claims, header: JWTHeader(fields: ["kid": .string(kid)]))
        await expectRefused(relabelled)
        // No kid at all (jwt-kit would fall back to a default key; we have none and refuse first).
        var parts = relabelled.jwtParts
        parts[0] = b64url(#"{"alg":"EdDSA","typ":"JWT"}"#)
        await expectRefused(parts.joined(separator: "."))
    }

    @Test func expiryIsCheckedWithThirtySecondsOfSkew() async throws {
        let justExpired = try await signed { $0.exp = ExpirationClaim(value: Date() - 10) }
        #expect(try await verifier.inspect(justExpired).id == "alice", "10 s past expiry is within the skew")
        await expectRefused(try await signed { $0.exp = ExpirationClaim(value: Date() - 60) }, "60 s past expiry")
    }

    @Test func notBeforeIsCheckedWithThirtySecondsOfSkew() async throws {
        let soon = try await signed { $0.nbf = NotBeforeClaim(value: Date() + 10); $0.iat = IssuedAtClaim(value: Date() + 10) }
        #expect(try await verifier.inspect(soon).id == "alice", "valid 10 s from now is within the skew")
        await expectRefused(try await signed { $0.nbf = NotBeforeClaim(value: Date() + 60) }, "not valid for 60 s")
        await expectRefused(try await signed { $0.iat = IssuedAtClaim(value: Date() + 120) }, "issued in the future")
    }

    @Test func aWrongIssuerOrAudienceIsRefused() async throws {
        await expectRefused(try await signed { $0.iss = IssuerClaim(value: "evil") })
        await expectRefused(try await signed { $0.aud = AudienceClaim(value: ["other-service"]) })
        // The same store read by an auth of another audience refuses our tokens.
        await #expect(throws: AuthError.self) { try await testAuth(store, audience: "billing").inspect(token.accessToken) }
    }

    @Test func aReplayedRefreshTokenFailsAndRevokesItsChain() async throws {
        let second = try await auth.token(.refresh(token.refreshToken))
        #expect(try await verifier.inspect(second.accessToken).id == "alice")
        await #expect(throws: AuthError.self) { try await auth.token(.refresh(token.refreshToken)) }
        // The replay revoked the chain: the refresh token handed out meanwhile is dead too.
        await #expect(throws: AuthError.self) { try await auth.token(.refresh(second.refreshToken)) }
        // Another chain of the same account is untouched.
        let other = try await auth.token(.credentials(id: "alice", secret: "alice-secret"))
        _ = try await auth.token(.refresh(other.refreshToken))
    }

    @Test func malformedRefreshTokensAreRefused() async throws {
        for bad in ["", ".", "a.b", token.refreshToken + "x", String(repeating: "a", count: 5000), token.accessToken] {
            await #expect(throws: AuthError.self) { try await auth.token(.refresh(bad)) }
        }
    }

    @Test func anOversizedTokenIsRefusedBeforeParsing() async throws {
        let parts = token.accessToken.jwtParts
        let padded = parts[0] + "." + parts[1] + String(repeating: "A", count: BearerToken.maxLength) + "." + parts[2]
        await #expect(throws: AuthError(.invalidToken, "the token is larger than \(BearerToken.maxLength) bytes")) {
            try await verifier.inspect(padded)
        }
    }

    @Test(arguments: ["", "a", "a.b", "a.b.c", "..", "a..c", "!!.!!.!!", "e30.e30.e30", "eyJhbGciOiJFZERTQSJ9.e30.AAAA"])
    func malformedTokensAreRefused(_ text: String) async {
        await expectRefused(text)
    }

    @Test func wrongCredentialsAreRefused() async throws {
        await #expect(throws: AuthError.self) { try await auth.token(.credentials(id: "alice", secret: "alice-secreT")) }
        await #expect(throws: AuthError.self) { try await auth.token(.credentials(id: "mallory", secret: "alice-secret")) }
        await #expect(throws: AuthError.self) { try await auth.token(.credentials(id: "../alice", secret: "alice-secret")) }
    }
}
