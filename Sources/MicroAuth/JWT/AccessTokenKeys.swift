import Foundation
import JWTKit
import MicroCore

/// Where an ``AccessTokenVerifier`` finds the key a token names: ``JWTKeyRing`` (the private keys in the
/// auth's store) or ``RemoteKeySet`` (the public keys the auth service publishes).
protocol AccessTokenKeys: Sendable {
    /// Verifies `token`'s signature with key `kid` and decodes its claims; ``AuthError`` `invalidToken`
    /// when the key is unknown or the signature does not verify.
    func verify(_ token: String, kid: String, now: Date) async throws -> AccessClaims
}

extension JWTKeyCollection {
    /// Verifies `token` with the key its header names and decodes its claims; any failure that is not
    /// already an ``AuthError`` is `invalidToken` (jwt-kit's errors never reach a caller).
    func verifyAccess(_ token: String) async throws -> AccessClaims {
        do {
            return try await verify(token, as: AccessClaims.self)
        } catch let error as AuthError {
            throw error
        } catch {
            throw AuthError(.invalidToken, "the token's signature does not verify")
        }
    }
}
