import Foundation
import JWTKit
import MicroCore

/// The claims of an access token: the registered ones (`sub`, `iss`, `aud`, `exp`, `nbf`, `iat`, `jti`)
/// and the account's type, scopes and metadata.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var iss: IssuerClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var type: AccountType
    var scopes: [String]
    var metadata: [String: String]

    init(account: Account, audience: String, issued: Date, expiry: Date) {
        sub = SubjectClaim(value: account.id)
        iss = IssuerClaim(value: account.issuer)
        aud = AudienceClaim(value: [audience])
        exp = ExpirationClaim(value: expiry)
        nbf = NotBeforeClaim(value: issued)
        iat = IssuedAtClaim(value: issued)
        jti = IDClaim(value: AuthSecrets.random(bytes: 12))
        type = account.type
        scopes = account.scopes
        metadata = account.metadata
    }

    /// jwt-kit's hook, called once the signature verified: the claims must name an account.
    /// Time, issuer and audience are checked by ``check(issuer:audience:now:leeway:)`` with the configured skew.
    func verify(using algorithm: some JWTAlgorithm) async throws {
        guard !sub.value.isEmpty else { throw AuthError(.invalidToken, "the token names no account") }
    }

    /// Throws ``AuthError/Code/invalidToken`` unless the token is from `issuer`, for `audience`, and
    /// valid at `now` give or take `leeway`.
    func check(issuer: String, audience: String, now: Date, leeway: TimeInterval) throws(AuthError) {
        guard iss.value == issuer else { throw AuthError(.invalidToken, "the token is from another issuer") }
        guard aud.value.contains(audience) else { throw AuthError(.invalidToken, "the token is for another audience") }
        guard exp.value.timeIntervalSince(now) > -leeway else { throw AuthError(.invalidToken, "the token has expired") }
        guard nbf.value.timeIntervalSince(now) <= leeway else { throw AuthError(.invalidToken, "the token is not valid yet") }
        guard iat.value.timeIntervalSince(now) <= leeway else { throw AuthError(.invalidToken, "the token was issued in the future") }
    }

    var account: Account {
        Account(id: sub.value, type: type, issuer: iss.value, metadata: metadata, scopes: scopes)
    }
}
