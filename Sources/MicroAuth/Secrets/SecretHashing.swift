import Crypto
import CryptoExtras
import Foundation
import MicroCore

/// How account secrets are hashed: scrypt (swift-crypto's `KDF.Scrypt`, BoringSSL's) with a random
/// 16-byte salt and a 32-byte output. The parameters are stored with each hash, so raising the cost
/// later still verifies old secrets.
public struct SecretHashing: Sendable, Hashable, Codable {
    /// The CPU/memory cost `N` (a power of two).
    public var cost: Int
    /// The block size `r`.
    public var blockSize: Int
    /// The parallelism `p`.
    public var parallelism: Int

    /// Parameters; `cost` must be a power of two from 2 to 2^20.
    public init(cost: Int, blockSize: Int = 8, parallelism: Int = 1) {
        self.cost = cost
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per hash in a release build.
    public static let standard = SecretHashing(cost: 1 << 15)

    /// Whether the parameters are in the range this code accepts (a stored hash is untrusted too).
    var isValid: Bool {
        cost >= 2 && cost <= 1 << 20 && cost & (cost - 1) == 0 && (1...32).contains(blockSize) && (1...16).contains(parallelism)
    }

    /// The hash of `secret` with a new random salt.
    func hash(_ secret: String) throws -> SecretHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return SecretHash(parameters: self, salt: Data(salt).base64EncodedString(), hash: try derive(secret, salt: salt).base64EncodedString())
    }

    func derive(_ secret: String, salt: [UInt8]) throws -> Data {
        guard isValid else { throw AuthError(.invalidArgument, "scrypt parameters out of range") }
        let key = try KDF.Scrypt.deriveKey(from: Array(secret.utf8), salt: salt, outputByteCount: 32, rounds: cost,
                                           blockSize: blockSize, parallelism: parallelism)
        return key.withUnsafeBytes { Data($0) }
    }
}

/// A stored secret hash: the parameters, the salt and the derived key (base64).
struct SecretHash: Sendable, Hashable, Codable {
    var parameters: SecretHashing
    var salt: String
    var hash: String

    /// Whether `secret` hashes to this, compared in constant time; false for a malformed stored hash.
    func matches(_ secret: String) -> Bool {
        guard let salt = Data(base64Encoded: salt), let expected = Data(base64Encoded: hash), expected.count == 32,
              let derived = try? parameters.derive(secret, salt: Array(salt)) else { return false }
        return AuthSecrets.constantTimeEquals(Array(derived), Array(expected))
    }
}
