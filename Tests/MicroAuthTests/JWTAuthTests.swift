import Foundation
import JWTKit
@testable import MicroAuth
import MicroCore
import MicroPostgres
import MicroSQLite
import MicroTestSupport
import Testing

/// Keys, JWKS, hashing and the store: what JWTAuth keeps, and that any process on the same store agrees.
@Suite("JWT auth")
struct JWTAuthTests {
    @Test func rotatedKeysKeepVerifyingAndTheJWKSPublishesThem() async throws {
        let store = MemoryStore()
        let auth = testAuth(store)
        _ = try await auth.generate("svc", options: AccountOptions(type: .service, secret: "pw"))
        let before = try await auth.token(.credentials(id: "svc", secret: "pw"))
        try await auth.rotateKeys()
        let after = try await auth.token(.credentials(id: "svc", secret: "pw"))
        let kid = { (t: String) in try JOSEHeader.kid(of: t) }
        #expect(try kid(before.accessToken) != kid(after.accessToken))
        let fresh = testAuth(store)
        #expect(try await fresh.inspect(before.accessToken).id == "svc", "the retired key still verifies")
        #expect(try await fresh.inspect(after.accessToken).id == "svc")

        // A verifier holding only the JWKS document (what RemoteAuth fetches) verifies both.
        let jwks = try await auth.jwks()
        #expect(!jwks.contains("\"d\""), "no private part in the JWKS")
        let keys = try await JWTKeyCollection().add(jwksJSON: jwks)
        #expect(try await keys.verify(before.accessToken, as: AccessClaims.self).sub.value == "svc")
        #expect(try await keys.verify(after.accessToken, as: AccessClaims.self).sub.value == "svc")
    }

    @Test func aKeyPastItsVerifyingTimeIsDropped() async throws {
        let store = MemoryStore()
        let auth = testAuth(store, accessTTL: .milliseconds(200))
        _ = try await auth.generate("svc", options: AccountOptions(type: .service, secret: "pw"))
        let old = try await auth.token(.credentials(id: "svc", secret: "pw"))
        try await auth.rotateKeys()
        // Retired keys verify for the access TTL plus the 30 s leeway; a fresh auth sees it still.
        #expect(try await testAuth(store, accessTTL: .milliseconds(200)).inspect(old.accessToken).id == "svc")
        let records = try await store.scoped(auth.configuration.scope).entries(StoreQuery(prefix: "key/"), as: SigningKeyRecord.self)
        #expect(records.count == 2)
        #expect(records.filter { $0.value.signsUntil > Date() }.count == 1)
        #expect(records.allSatisfy { $0.expiry != nil }, "key records expire from the store by themselves")
    }

    @Test func secretsAndRefreshTokensAreStoredHashed() async throws {
        let store = MemoryStore()
        let auth = testAuth(store)
        let account = try await auth.generate("u", options: AccountOptions())
        let secret = try #require(account.secret)
        #expect(secret.utf8.count >= 40, "a generated secret carries 256 random bits")
        let token = try await auth.token(.credentials(id: "u", secret: secret))
        let scoped = store.scoped(auth.configuration.scope)
        let everything = try await scoped.read(StoreQuery()).map { String(decoding: $0.value, as: UTF8.self) + $0.key }.joined()
        #expect(!everything.contains(secret))
        #expect(!everything.contains(token.refreshToken))
        #expect(!everything.contains(token.refreshToken.jwtParts.last ?? "-"))
        #expect(everything.contains("\"cost\":1024"), "the scrypt parameters are stored with the hash")
        #expect(try await auth.accounts().allSatisfy { $0.secret == nil })
    }

    @Test func theStandardSecretHashIsScryptAtTwoToTheFifteen() throws {
        let hash = try SecretHashing.standard.hash("correct horse")
        #expect(hash.parameters == SecretHashing(cost: 32_768, blockSize: 8, parallelism: 1))
        #expect(hash.matches("correct horse"))
        #expect(!hash.matches("correct horsE"))
        var tampered = hash
        tampered.parameters.cost = 3
        #expect(!tampered.matches("correct horse"), "out-of-range stored parameters never match")
    }

    @Test func accountsAreValidated() async throws {
        let auth = testAuth()
        for id in ["", "a/b", "a b", String(repeating: "x", count: 129), "ä"] {
            await #expect(throws: AuthError.self) { try await auth.generate(id, options: AccountOptions()) }
        }
        await #expect(throws: AuthError.self) { try await auth.generate("u", options: AccountOptions(scopes: Array(repeating: "s", count: 33))) }
        _ = try await auth.generate("u", options: AccountOptions(secret: "pw"))
        await #expect(throws: AuthError(.conflict, "account 'u' exists")) { try await auth.generate("u", options: AccountOptions()) }
    }

    @Test func aDeletedAccountCannotRefreshNorComeBackThroughOldTokens() async throws {
        let auth = testAuth()
        _ = try await auth.generate("u", options: AccountOptions(secret: "pw"))
        let token = try await auth.token(.credentials(id: "u", secret: "pw"))
        try await auth.deleteAccount("u")
        await #expect(throws: AuthError.self) { try await auth.token(.refresh(token.refreshToken)) }
        _ = try await auth.generate("u", options: AccountOptions(secret: "pw"))
        let second = try await auth.token(.credentials(id: "u", secret: "pw"))
        _ = try await auth.token(.refresh(second.refreshToken))
        await #expect(throws: AuthError.self) { try await auth.deleteAccount("nobody") }
    }

    // MARK: The same contract on every store

    /// What every store must let JWTAuth do: two auths on one store (two processes) agree on accounts,
    /// tokens, rules and single-use refresh.
    static func storeContract(_ makeStore: () async throws -> any Store) async throws {
        let store = try await makeStore()
        let issuer = testAuth(store, rulesRefresh: .zero)
        let verifier = testAuth(store, rulesRefresh: .zero)
        let created = try await issuer.generate("alice", options: AccountOptions(scopes: ["greeter"], metadata: ["team": "a"], secret: "pw"))
        #expect(created.secret == "pw")
        let token = try await verifier.token(.credentials(id: "alice", secret: "pw"))
        #expect(try await issuer.inspect(token.accessToken) == Account(id: "alice", issuer: "micro", metadata: ["team": "a"], scopes: ["greeter"]))
        #expect(try await verifier.accounts().map(\.id) == ["alice"])

        let rule = Rule(id: "hello", scope: "greeter", resource: Resource(type: "service", name: "greeter", endpoint: "Greeter.Hello"))
        try await issuer.grant(rule)
        #expect(try await verifier.rules().rules == [rule])
        try await verifier.revoke("hello")
        #expect(try await issuer.rules().rules.isEmpty)

        _ = try await issuer.token(.refresh(token.refreshToken))
        await #expect(throws: AuthError.self) { try await verifier.token(.refresh(token.refreshToken)) }
        try await issuer.deleteAccount("alice")
        #expect(try await verifier.accounts().isEmpty)
        await store.shutdown()
    }

    @Test func memoryStore() async throws {
        try await Self.storeContract { MemoryStore() }
    }

    @Test func sqliteStore() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("micro-auth-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.storeContract { SQLiteStore(directory: directory) }
    }

    @Test func postgresStore() async throws {
        let server = try await PostgresProcess.shared()
        try await Self.storeContract {
            try PostgresStore(url: server.url, scope: try StoreScope(database: "auth" + String(UUID().uuidString.prefix(8)).lowercased(), table: "micro"))
        }
    }
}
