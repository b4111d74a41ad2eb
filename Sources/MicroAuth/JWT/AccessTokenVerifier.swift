import Foundation
import MicroCore

/// Turns an access token into its account: bounded size, the header pinned (``JOSEHeader``), the
/// signature checked with ``AccessTokenKeys``, the claims checked with the stated clock skew, and the
/// result remembered by the whole token until it expires (``VerifiedTokenCache``). ``JWTAuth`` and
/// ``RemoteAuth`` verify through it alike.
final class AccessTokenVerifier: Sendable {
    private let keys: any AccessTokenKeys
    private let issuer: String
    private let audience: String
    private let leeway: TimeInterval
    private let cache: VerifiedTokenCache

    init(keys: any AccessTokenKeys, issuer: String, audience: String, leeway: Duration, cacheSize: Int) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway.seconds
        self.cache = VerifiedTokenCache(capacity: cacheSize)
    }

    /// The account of `token` if it verified before and is still valid at `now` (with the clock skew), else nil.
    func verifiedAccount(token: Substring, now: Date) -> Account? {
        cache.account(for: token, now: now, leeway: leeway)
    }

    /// The account `token` stands for, or ``AuthError`` `invalidToken`.
    func account(for token: String) async throws -> Account {
        guard token.utf8.count <= BearerToken.maxLength else {
            throw AuthError(.invalidToken, "the token is larger than \(BearerToken.maxLength) bytes")
        }
        let now = Date()
        if let account = verifiedAccount(token: Substring(token), now: now) { return account }
        let kid = try JOSEHeader.kid(of: token)
        let claims = try await keys.verify(token, kid: kid, now: now)
        try claims.check(issuer: issuer, audience: audience, now: now, leeway: leeway)
        let account = claims.account
        cache.insert(token, account: account, expiry: claims.exp.value, now: now)
        return account
    }
}
