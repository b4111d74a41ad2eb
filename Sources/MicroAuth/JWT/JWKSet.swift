import Foundation
import JWTKit
import MicroCore

/// A JWK Set (RFC 7517) of the Ed25519 public keys that verify access tokens: what ``JWTAuth/jwks()``
/// publishes and the auth service's `Auth.Keys` answers, and what ``RemoteAuth`` verifies with.
struct JWKSet: Codable, Sendable, Equatable {
    /// One public key (`kty` `OKP`, `crv` `Ed25519`, `alg` `EdDSA`, `use` `sig`).
    struct Key: Codable, Sendable, Equatable {
        var kty = "OKP"
        var crv = "Ed25519"
        var alg = JOSEHeader.algorithm
        var use: String? = "sig"
        var kid: String
        var x: String

        init(kid: String, x: String) {
            self.kid = kid
            self.x = x
        }
    }

    var keys: [Key]

    /// The most keys a set from a peer may hold (a few are live at once: the signing key and retired ones).
    static let maxKeys = 64

    /// The keys usable for verifying, by key id; throws ``AuthError`` `unavailable` when the set holds
    /// too many keys or a key that is not an Ed25519 signing key of 32 bytes with a short key id.
    func verifyingKeys() throws(AuthError) -> [String: EdDSA.PublicKey] {
        guard keys.count <= Self.maxKeys else { throw AuthError(.unavailable, "the key set holds more than \(Self.maxKeys) keys") }
        var result: [String: EdDSA.PublicKey] = [:]
        for key in keys {
            guard key.kty == "OKP", key.crv == "Ed25519", key.alg == JOSEHeader.algorithm, key.use == nil || key.use == "sig",
                  (1...128).contains(key.kid.utf8.count), key.x.utf8.count == 43,
                  let raw = JOSEHeader.base64URLDecode(key.x.utf8), raw.count == 32,
                  let publicKey = try? EdDSA.PublicKey(x: key.x, curve: .ed25519) else {
                throw AuthError(.unavailable, "the key set holds a key that is not an Ed25519 signing key")
            }
            result[key.kid] = publicKey
        }
        return result
    }
}
