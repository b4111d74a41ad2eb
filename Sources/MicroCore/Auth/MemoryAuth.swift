import Foundation
import NIOConcurrencyHelpers

/// Accounts, opaque random tokens and rules in this process's memory, for tests and single-process
/// programs. Refresh tokens are single use: presenting one twice revokes every token of its chain.
/// Secrets are kept as given (in memory only); `MicroAuth`'s `JWTAuth` is the one that hashes them.
public final class MemoryAuth: Auth, HoldingAuth {
    /// Always `memory`.
    public let name = "memory"
    /// The issuer accounts get.
    public let issuer: String
    /// How long access tokens live.
    public let accessTTL: Duration
    /// How long refresh tokens live.
    public let refreshTTL: Duration
    private let state = NIOLockedValueBox(State())

    private struct State {
        var accounts: [String: (account: Account, secret: String)] = [:]
        var access: [String: (account: String, expiry: Date, family: String)] = [:]
        var refresh: [String: (account: String, expiry: Date, family: String, used: Bool)] = [:]
        var rules: [String: Rule] = [:]
        var ruleSet = RuleSet([])

        mutating func revoke(family: String) {
            access = access.filter { $0.value.family != family }
            refresh = refresh.filter { $0.value.family != family }
        }
    }

    /// An empty auth; tokens last `accessTTL` (access) and `refreshTTL` (refresh).
    public init(issuer: String = "micro", accessTTL: Duration = .seconds(900), refreshTTL: Duration = .seconds(86_400)) {
        self.issuer = issuer
        self.accessTTL = accessTTL
        self.refreshTTL = refreshTTL
    }

    public func generate(_ id: String, options: AccountOptions) async throws -> Account {
        guard !id.isEmpty else { throw AuthError(.invalidArgument, "an account needs an id") }
        let secret = options.secret ?? AuthSecrets.random()
        let account = Account(id: id, type: options.type, issuer: issuer, metadata: options.metadata, scopes: options.scopes)
        try state.withLockedValue { s in
            guard s.accounts[id] == nil else { throw AuthError(.conflict, "account '\(id)' exists") }
            s.accounts[id] = (account, secret)
        }
        var shown = account
        shown.secret = secret
        return shown
    }

    public func inspect(_ token: String) async throws -> Account {
        guard let account = verifiedAccount(token: Substring(token), now: Date()) else {
            throw AuthError(.invalidToken, "the token is unknown or expired")
        }
        return account
    }

    /// The account of a token it issued that has not expired.
    package func verifiedAccount(token: Substring, now: Date) -> Account? {
        let token = String(token)
        return state.withLockedValue { s in
            guard let entry = s.access[token], entry.expiry > now else { return nil }
            return s.accounts[entry.account]?.account
        }
    }

    /// The rules: always held.
    package func heldRules() -> RuleSet? {
        state.withLockedValue { $0.ruleSet }
    }

    public func token(_ request: TokenRequest) async throws -> AuthToken {
        let now = Date()
        return try state.withLockedValue { s in
            let accountID: String, family: String
            switch request {
            case .credentials(let id, let secret):
                guard let entry = s.accounts[id], AuthSecrets.constantTimeEquals(Array(entry.secret.utf8), Array(secret.utf8)) else {
                    throw AuthError(.invalidCredentials, "wrong account id or secret")
                }
                accountID = id
                family = AuthSecrets.random(bytes: 16)
            case .refresh(let token):
                guard let entry = s.refresh[token], entry.expiry > now else {
                    throw AuthError(.invalidCredentials, "the refresh token is unknown or expired")
                }
                guard !entry.used else {
                    s.revoke(family: entry.family)
                    throw AuthError(.invalidCredentials, "the refresh token was used before; its chain is revoked")
                }
                guard s.accounts[entry.account] != nil else { throw AuthError(.invalidCredentials, "the account is gone") }
                s.refresh[token]?.used = true
                accountID = entry.account
                family = entry.family
            }
            s.access = s.access.filter { $0.value.expiry > now }
            s.refresh = s.refresh.filter { $0.value.expiry > now }
            let pair = AuthToken(accessToken: AuthSecrets.random(), refreshToken: AuthSecrets.random(), created: now,
                                 expiry: now.addingTimeInterval(accessTTL.seconds))
            s.access[pair.accessToken] = (accountID, pair.expiry, family)
            s.refresh[pair.refreshToken] = (accountID, now.addingTimeInterval(refreshTTL.seconds), family, false)
            return pair
        }
    }

    public func grant(_ rule: Rule) async throws {
        guard !rule.id.isEmpty else { throw AuthError(.invalidArgument, "a rule needs an id") }
        state.withLockedValue { s in
            s.rules[rule.id] = rule
            s.ruleSet = RuleSet(Array(s.rules.values))
        }
    }

    public func revoke(_ id: String) async throws {
        try state.withLockedValue { s in
            guard s.rules.removeValue(forKey: id) != nil else { throw AuthError(.notFound, "no rule '\(id)'") }
            s.ruleSet = RuleSet(Array(s.rules.values))
        }
    }

    public func rules() async throws -> RuleSet {
        state.withLockedValue { $0.ruleSet }
    }

    public func accounts() async throws -> [Account] {
        state.withLockedValue { $0.accounts.values.map(\.account) }.sorted { $0.id < $1.id }
    }

    public func deleteAccount(_ id: String) async throws {
        try state.withLockedValue { s in
            guard s.accounts.removeValue(forKey: id) != nil else { throw AuthError(.notFound, "no account '\(id)'") }
            s.access = s.access.filter { $0.value.account != id }
            s.refresh = s.refresh.filter { $0.value.account != id }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    package var seconds: TimeInterval {
        let (s, attoseconds) = components
        return TimeInterval(s) + TimeInterval(attoseconds) / 1e18
    }
}
