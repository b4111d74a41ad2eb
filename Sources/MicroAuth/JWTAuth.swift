import Foundation
import MicroCore
import NIOConcurrencyHelpers

/// Auth with signed JWT access tokens (EdDSA, Ed25519) and everything kept in a ``Store``: accounts
/// (secrets hashed with scrypt), rules, signing keys and refresh tokens (SHA-256 hashed, single use).
///
/// Access tokens are checked without the store: the header must say `EdDSA` and name a known key id,
/// the signature must verify, and `iss`, `aud`, `exp`, `nbf` and `iat` must hold within
/// ``JWTAuthConfiguration/leeway``. Verified tokens are remembered until they expire. Keys rotate every
/// ``JWTAuthConfiguration/keyLifetime`` (or on ``rotateKeys()``); a retired key verifies until its
/// last token expires, and ``jwks()`` publishes the public halves. Every process using the same store
/// (SQLite, PostgreSQL, etcd, NATS, ...) issues and verifies the same tokens.
public final class JWTAuth: Auth, HoldingAuth {
    /// Always `jwt`.
    public let name = "jwt"
    /// How tokens are issued and checked.
    public let configuration: JWTAuthConfiguration
    private let store: any Store
    private let keys: JWTKeyRing
    private let verifier: AccessTokenVerifier
    private let ruleCache = NIOLockedValueBox<(rules: RuleSet, read: ContinuousClock.Instant)?>(nil)

    /// The most scopes and metadata entries an account may have (tokens stay well under ``BearerToken/maxLength``).
    public static let maxScopes = 32
    /// The most metadata entries an account may have.
    public static let maxMetadata = 32
    /// The longest account id, scope, rule id or metadata key or value, in bytes.
    public static let maxNameLength = 128

    private static let accountPrefix = "account/"
    private static let rulePrefix = "rule/"

    /// An auth keeping its records in `store`, under ``JWTAuthConfiguration/scope``.
    public init(store: any Store, configuration: JWTAuthConfiguration = JWTAuthConfiguration()) {
        let store = store.scoped(configuration.scope)
        self.store = store
        self.configuration = configuration
        let keys = JWTKeyRing(store: store, configuration: configuration)
        self.keys = keys
        self.verifier = AccessTokenVerifier(keys: keys, issuer: configuration.issuer, audience: configuration.audience,
                                            leeway: configuration.leeway, cacheSize: configuration.verifiedTokenCacheSize)
    }

    // MARK: Accounts

    public func generate(_ id: String, options: AccountOptions) async throws -> Account {
        try Self.validate(id, "an account id")
        guard options.scopes.count <= Self.maxScopes, options.metadata.count <= Self.maxMetadata else {
            throw AuthError(.invalidArgument, "an account has at most \(Self.maxScopes) scopes and \(Self.maxMetadata) metadata entries")
        }
        for scope in options.scopes { try Self.validate(scope, "a scope") }
        for (key, value) in options.metadata {
            try Self.validate(key, "a metadata key")
            guard value.utf8.count <= Self.maxNameLength else { throw AuthError(.invalidArgument, "a metadata value is longer than \(Self.maxNameLength) bytes") }
        }
        let secret = options.secret ?? AuthSecrets.random()
        guard !secret.isEmpty, secret.utf8.count <= 1024 else { throw AuthError(.invalidArgument, "a secret is 1 to 1024 bytes") }
        let account = Account(id: id, type: options.type, issuer: configuration.issuer, metadata: options.metadata, scopes: options.scopes)
        let stored = StoredAccount(account: account, secret: try configuration.secretHashing.hash(secret), incarnation: AuthSecrets.random(bytes: 12))
        do {
            try await store.write(Self.accountPrefix + id, value: stored, condition: .ifAbsent)
        } catch let error as StoreError where error.code == .conflict {
            throw AuthError(.conflict, "account '\(id)' exists")
        }
        var shown = account
        shown.secret = secret
        return shown
    }

    public func accounts() async throws -> [Account] {
        try await store.entries(StoreQuery(prefix: Self.accountPrefix), as: StoredAccount.self).map(\.value.account)
    }

    public func deleteAccount(_ id: String) async throws {
        try Self.validate(id, "an account id")
        guard try await store.delete(Self.accountPrefix + id, ifRevision: nil) else { throw AuthError(.notFound, "no account '\(id)'") }
    }

    // MARK: Tokens

    public func inspect(_ token: String) async throws -> Account {
        try await verifier.account(for: token)
    }

    public func token(_ request: TokenRequest) async throws -> AuthToken {
        switch request {
        case .credentials(let id, let secret):
            let stored = try? await store.read(Self.accountPrefix + id, as: StoredAccount.self)
            guard let stored, stored.secret.matches(secret) else {
                // The same work for an unknown account as for a wrong secret: no timing tells them apart.
                if stored == nil { _ = try? configuration.secretHashing.hash(secret) }
                throw AuthError(.invalidCredentials, "wrong account id or secret")
            }
            return try await issue(stored, family: AuthSecrets.random(bytes: 16))
        case .refresh(let token):
            return try await refresh(token)
        }
    }

    private func refresh(_ token: String) async throws -> AuthToken {
        let invalid = AuthError(.invalidCredentials, "the refresh token is unknown, expired or revoked")
        guard let key = RefreshTokenRecord.key(of: token), let entry = try await store.entry(key, as: RefreshTokenRecord.self) else { throw invalid }
        let record = entry.value
        guard record.expiry > Date() else { throw invalid }
        guard !record.used else {
            try await revokeFamily(record.family)
            throw AuthError(.invalidCredentials, "the refresh token was used before; every token of its chain is revoked")
        }
        var used = record
        used.used = true
        do {
            try await store.write(key, value: used, ttl: ttl(until: record.expiry), condition: .ifRevision(entry.revision))
        } catch let error as StoreError where error.code == .conflict {
            // Another request used it first: that is a replay too.
            try await revokeFamily(record.family)
            throw AuthError(.invalidCredentials, "the refresh token was used before; every token of its chain is revoked")
        }
        guard let stored = try await store.read(Self.accountPrefix + record.account, as: StoredAccount.self),
              stored.incarnation == record.incarnation else { throw invalid }
        return try await issue(stored, family: record.family)
    }

    private func revokeFamily(_ family: String) async throws {
        for key in try await store.list(StoreQuery(prefix: RefreshTokenRecord.familyPrefix(family))) {
            _ = try await store.delete(key, ifRevision: nil)
        }
    }

    private func issue(_ stored: StoredAccount, family: String) async throws -> AuthToken {
        let now = Date()
        let expiry = now.addingTimeInterval(configuration.accessTTL.seconds)
        let access = try await keys.sign(AccessClaims(account: stored.account, audience: configuration.audience, issued: now, expiry: expiry), now: now)
        let refresh = "\(family).\(AuthSecrets.random())"
        guard let key = RefreshTokenRecord.key(of: refresh) else { throw AuthError(.unavailable, "could not make a refresh token") }
        let refreshExpiry = now.addingTimeInterval(configuration.refreshTTL.seconds)
        let record = RefreshTokenRecord(account: stored.account.id, incarnation: stored.incarnation, family: family, expiry: refreshExpiry, used: false)
        try await store.write(key, value: record, ttl: configuration.refreshTTL, condition: .ifAbsent)
        return AuthToken(accessToken: access, refreshToken: refresh, created: now, expiry: expiry)
    }

    private func ttl(until date: Date) -> Duration {
        .milliseconds(Int64(max(1, date.timeIntervalSinceNow * 1000)))
    }

    // MARK: Keys

    /// Retires the signing key and starts signing with a new one; tokens already issued keep verifying.
    public func rotateKeys() async throws {
        try await keys.rotate(now: Date())
    }

    /// The public keys that verify this auth's tokens, as a JWK Set document (RFC 7517).
    public func jwks() async throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(try await keySet()), as: UTF8.self)
    }

    /// The public keys that verify this auth's tokens (what ``jwks()`` encodes and the auth service serves).
    func keySet() async throws -> JWKSet {
        try await keys.publicKeys(now: Date())
    }

    // MARK: Rules

    public func grant(_ rule: Rule) async throws {
        try Self.validate(rule.id, "a rule id")
        guard rule.scope.utf8.count <= Self.maxNameLength else { throw AuthError(.invalidArgument, "a rule's scope is too long") }
        try await store.write(Self.rulePrefix + rule.id, value: rule)
        ruleCache.withLockedValue { $0 = nil }
    }

    public func revoke(_ id: String) async throws {
        try Self.validate(id, "a rule id")
        guard try await store.delete(Self.rulePrefix + id, ifRevision: nil) else { throw AuthError(.notFound, "no rule '\(id)'") }
        ruleCache.withLockedValue { $0 = nil }
    }

    public func rules() async throws -> RuleSet {
        if let held = heldRules() { return held }
        let now = ContinuousClock.now
        let read = RuleSet(try await store.entries(StoreQuery(prefix: Self.rulePrefix), as: Rule.self).map(\.value))
        return ruleCache.withLockedValue { cached in
            // The same rules read again stay the same set, so what was worked out from it still holds.
            let rules = cached.map(\.rules) == read ? cached!.rules : read
            cached = (rules, now)
            return rules
        }
    }

    /// The rules read less than ``JWTAuthConfiguration/rulesRefreshInterval`` ago.
    package func heldRules() -> RuleSet? {
        let now = ContinuousClock.now
        guard let cached = ruleCache.withLockedValue({ $0 }), now - cached.read < configuration.rulesRefreshInterval else { return nil }
        return cached.rules
    }

    /// The account of a token verified before and still valid.
    package func verifiedAccount(token: Substring, now: Date) -> Account? {
        verifier.verifiedAccount(token: token, now: now)
    }

    /// Names are 1 to ``maxNameLength`` bytes of printable ASCII other than `/`.
    private static func validate(_ name: String, _ role: String) throws {
        guard (1...maxNameLength).contains(name.utf8.count),
              name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw AuthError(.invalidArgument, "\(role) is 1 to \(maxNameLength) printable ASCII characters without spaces or '/'")
        }
    }
}
