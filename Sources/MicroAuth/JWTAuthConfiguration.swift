import MicroCore

/// How a ``JWTAuth`` issues and checks tokens.
public struct JWTAuthConfiguration: Sendable {
    /// The `iss` claim tokens carry and must carry (go-micro's namespace, the account issuer).
    public var issuer: String
    /// The `aud` claim tokens carry and must include.
    public var audience: String
    /// How long access tokens live (default 15 minutes).
    public var accessTTL: Duration
    /// How long refresh tokens live (default 7 days).
    public var refreshTTL: Duration
    /// The clock skew tolerated on `exp`, `nbf` and `iat` between the issuer and a verifier (default 30 s).
    public var leeway: Duration
    /// How long one signing key signs before a new one takes over (default 24 hours); a retired key still
    /// verifies until the last token it signed has expired.
    public var keyLifetime: Duration
    /// The cost of hashing account secrets.
    public var secretHashing: SecretHashing
    /// How many verified tokens are remembered (by the whole token, so by signature) to skip the signature check.
    public var verifiedTokenCacheSize: Int
    /// How long the rules are used before they are read again from the store (default 1 s), so rules
    /// changed by another process (the CLI) apply within that time.
    public var rulesRefreshInterval: Duration
    /// Where accounts, rules, keys and refresh tokens are kept in the store.
    public var scope: StoreScope

    /// A configuration with the defaults above.
    public init(issuer: String = "micro", audience: String = "micro", accessTTL: Duration = .seconds(900),
                refreshTTL: Duration = .seconds(7 * 86_400), leeway: Duration = .seconds(30), keyLifetime: Duration = .seconds(86_400),
                secretHashing: SecretHashing = .standard, verifiedTokenCacheSize: Int = 10_000,
                rulesRefreshInterval: Duration = .seconds(1), scope: StoreScope? = nil) {
        self.issuer = issuer
        self.audience = audience
        self.accessTTL = accessTTL
        self.refreshTTL = refreshTTL
        self.leeway = leeway
        self.keyLifetime = keyLifetime
        self.secretHashing = secretHashing
        self.verifiedTokenCacheSize = verifiedTokenCacheSize
        self.rulesRefreshInterval = rulesRefreshInterval
        self.scope = scope ?? StoreScope(checked: "micro", "auth")
    }
}
