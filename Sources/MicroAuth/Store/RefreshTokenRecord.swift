import Crypto
import Foundation

/// A refresh token as the store keeps it, under `refresh/<family>/<sha256 of the token>`: never the
/// token itself. A token is `<family>.<random>`; every token bought with one joins its family, so a
/// replayed (already used) token revokes the whole family.
struct RefreshTokenRecord: Sendable, Codable {
    var account: String
    var incarnation: String
    var family: String
    var expiry: Date
    var used: Bool

    /// The store key of `token`, nil when it is not of the form `<family>.<random>`.
    static func key(of token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (16...64).contains(parts[0].utf8.count), (32...64).contains(parts[1].utf8.count) else { return nil }
        return familyPrefix(String(parts[0])) + SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The store prefix of a family's tokens.
    static func familyPrefix(_ family: String) -> String { "refresh/\(family)/" }
}
