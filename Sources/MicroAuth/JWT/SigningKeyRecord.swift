import Crypto
import Foundation

/// A signing key as the store keeps it, under `key/<kid>`: the Ed25519 private key (raw, base64url),
/// when it signs until, and when it stops verifying (after the last token it signed has expired).
///
/// The private key is kept in the auth's store as it is: whoever can read that table can sign tokens,
/// so the store's access must be restricted like the keys themselves.
struct SigningKeyRecord: Sendable, Codable {
    var kid: String
    var privateKey: String
    var created: Date
    var signsUntil: Date
    var verifiesUntil: Date

    static let prefix = "key/"
}
