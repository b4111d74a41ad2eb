import Foundation
import MicroCore
import NIOConcurrencyHelpers

/// An ``Auth`` in another process, reached through the auth service (``AuthHandler``,
/// `go.micro.auth`) with a ``Client``: `MICRO_AUTH=service`.
///
/// Access tokens are verified here, without a call: with the service's public keys (`Auth.Keys`, a JWK
/// Set fetched on first use and again when a token names a key not known yet, at most once a second),
/// the same checks as ``JWTAuth`` (pinned `EdDSA`, `iss`, `aud`, times with the configured skew) and
/// the same cache of verified tokens. Rules are read with `Rules.List` and kept for
/// ``JWTAuthConfiguration/rulesRefreshInterval``; when the service cannot be reached, the last rules
/// read serve for up to ``staleRulesLimit``, then calls fail with 503. Everything else is a call:
/// the caller's token (the client's `Authorization`) decides whether the service lets it manage
/// accounts and rules.
public final class RemoteAuth: Auth, HoldingAuth {
    /// Always `service`.
    public let name = "service"
    /// The auth service called.
    public let service: String
    /// The issuer, audience, clock skew, cache size and rules refresh interval used (the rest is the service's).
    public let configuration: JWTAuthConfiguration
    /// How long the last rules read keep serving while the service cannot be reached.
    public static let staleRulesLimit: Duration = .seconds(30)
    /// The most rules a `Rules.List` answer may hold.
    public static let maxRules = 10_000

    private let client: Client
    private let options: CallOptions
    private let keys: RemoteKeySet
    private let verifier: AccessTokenVerifier
    private let ruleState = NIOLockedValueBox(RuleState())

    private struct RuleState {
        var rules: RuleSet?
        var read: ContinuousClock.Instant?
        var refreshing = false
    }

    /// An auth calling `service` through `client` (which stays the caller's to shut down); `options`
    /// (default: the client's) set the timeout and metadata, the content type is always JSON.
    public init(client: Client, service: String = AuthHandler.serviceName, configuration: JWTAuthConfiguration = JWTAuthConfiguration(),
                options: CallOptions? = nil) {
        var options = options ?? client.defaults
        options.contentType = "application/json"
        self.client = client
        self.service = service
        self.configuration = configuration
        self.options = options
        let keys = RemoteKeySet { [client, service, options] in
            try await Self.call(client, service, "Auth.Keys", AuthWire.ListRequest(), as: JWKSet.self, options: options)
        }
        self.keys = keys
        self.verifier = AccessTokenVerifier(keys: keys, issuer: configuration.issuer, audience: configuration.audience,
                                            leeway: configuration.leeway, cacheSize: configuration.verifiedTokenCacheSize)
    }

    // MARK: Tokens

    public func inspect(_ token: String) async throws -> Account {
        try await verifier.account(for: token)
    }

    public func token(_ request: TokenRequest) async throws -> AuthToken {
        var wire = AuthWire.TokenRequest()
        switch request {
        case .credentials(let id, let secret):
            wire.id = id
            wire.secret = secret
        case .refresh(let token):
            wire.refreshToken = token
        }
        let response = try await call("Auth.Token", wire, as: AuthWire.TokenResponse.self, unauthorized: .invalidCredentials)
        guard let token = response.token else { throw AuthError(.unavailable, "the auth service answered no token") }
        return try token.token()
    }

    // MARK: Accounts

    public func generate(_ id: String, options: AccountOptions) async throws -> Account {
        let request = AuthWire.GenerateRequest(id: id, metadata: options.metadata, scopes: options.scopes, secret: options.secret,
                                               type: options.type.rawValue)
        let response = try await call("Auth.Generate", request, as: AuthWire.GenerateResponse.self)
        guard let account = response.account else { throw AuthError(.unavailable, "the auth service answered no account") }
        return try account.account()
    }

    public func accounts() async throws -> [Account] {
        let response = try await call("Accounts.List", AuthWire.ListRequest(), as: AuthWire.ListAccountsResponse.self)
        return try (response.accounts ?? []).map { try $0.account().withoutSecret }.sorted { $0.id < $1.id }
    }

    public func deleteAccount(_ id: String) async throws {
        _ = try await call("Accounts.Delete", AuthWire.DeleteRequest(id: id), as: AuthWire.Empty.self)
    }

    // MARK: Rules

    public func grant(_ rule: Rule) async throws {
        _ = try await call("Rules.Create", AuthWire.CreateRequest(rule: AuthWire.Rule(rule)), as: AuthWire.Empty.self)
        ruleState.withLockedValue { $0.read = nil }
    }

    public func revoke(_ id: String) async throws {
        _ = try await call("Rules.Delete", AuthWire.DeleteRequest(id: id), as: AuthWire.Empty.self)
        ruleState.withLockedValue { $0.read = nil }
    }

    /// The rules read less than the refresh interval ago, or while another caller reads them again.
    package func heldRules() -> RuleSet? {
        let now = ContinuousClock.now
        let interval = configuration.rulesRefreshInterval
        return ruleState.withLockedValue { s in
            guard let rules = s.rules else { return nil }
            if let read = s.read, now - read < interval { return rules }
            return s.refreshing ? rules : nil
        }
    }

    /// The account of a token verified before and still valid.
    package func verifiedAccount(token: Substring, now: Date) -> Account? {
        verifier.verifiedAccount(token: token, now: now)
    }

    /// The rules as last read; read again when older than the refresh interval (one caller reads while
    /// the others go on with the rules they have).
    public func rules() async throws -> RuleSet {
        let now = ContinuousClock.now
        let interval = configuration.rulesRefreshInterval
        let (cached, refresh) = ruleState.withLockedValue { s -> (RuleSet?, Bool) in
            if let rules = s.rules, let read = s.read, now - read < interval { return (rules, false) }
            if let rules = s.rules, s.refreshing { return (rules, false) }
            s.refreshing = true
            return (s.rules, true)
        }
        guard refresh else { return cached ?? RuleSet([]) }
        do {
            let response = try await call("Rules.List", AuthWire.ListRequest(), as: AuthWire.ListResponse.self)
            let wire = response.rules ?? []
            guard wire.count <= Self.maxRules else { throw AuthError(.unavailable, "the auth service answered more than \(Self.maxRules) rules") }
            let rules = RuleSet(try wire.map { rule throws(AuthError) in
                do { return try rule.rule() } catch { throw AuthError(.unavailable, "the auth service answered a malformed rule") }
            })
            ruleState.withLockedValue { s in
                s.rules = rules
                s.read = ContinuousClock.now
                s.refreshing = false
            }
            return rules
        } catch {
            let stale = ruleState.withLockedValue { s -> RuleSet? in
                s.refreshing = false
                guard let rules = s.rules, let read = s.read, ContinuousClock.now - read < Self.staleRulesLimit else { return nil }
                return rules
            }
            if let stale { return stale }
            throw error
        }
    }

    // MARK: Calling

    private func call<Request: Sendable, Response: Sendable>(_ endpoint: String, _ request: Request, as: Response.Type,
                                                             unauthorized: AuthError.Code = .unauthorized) async throws -> Response {
        try await Self.call(client, service, endpoint, request, as: Response.self, options: options, unauthorized: unauthorized)
    }

    private static func call<Request: Sendable, Response: Sendable>(_ client: Client, _ service: String, _ endpoint: String, _ request: Request,
                                                                    as: Response.Type, options: CallOptions,
                                                                    unauthorized: AuthError.Code = .unauthorized) async throws -> Response {
        do {
            return try await client.call(service, endpoint, request, as: Response.self, options: options)
        } catch let error as MicroError {
            throw authError(error, service: service, unauthorized: unauthorized)
        } catch let error as AuthError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw AuthError(.unavailable, "auth service \(service): \(error)")
        }
    }

    /// The service's error as the auth error it raised (by status); the client's own (no node, no
    /// connection, a response that does not decode) as `unavailable`.
    static func authError(_ error: MicroError, service: String, unauthorized: AuthError.Code) -> AuthError {
        guard error.id == "go.micro.auth" else { return AuthError(.unavailable, "auth service \(service): \(error.detail) (\(error.code))") }
        let code: AuthError.Code
        switch error.code {
        case 401: code = unauthorized
        case 403: code = .forbidden
        case 404: code = .notFound
        case 409: code = .conflict
        case 400: code = .invalidArgument
        default: code = .unavailable
        }
        return AuthError(code, error.detail)
    }
}
