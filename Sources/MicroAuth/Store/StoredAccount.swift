import MicroCore

/// An account as the store keeps it: without its secret, with the secret's hash.
struct StoredAccount: Sendable, Codable {
    var account: Account
    var secret: SecretHash
    /// Random per creation: refresh tokens of a deleted account do not work for a new one of the same id.
    var incarnation: String
}
