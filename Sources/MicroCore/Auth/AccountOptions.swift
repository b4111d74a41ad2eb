/// What ``Auth/generate(_:options:)`` gives a new account (go-micro's `GenerateOptions`).
public struct AccountOptions: Sendable, Hashable {
    /// User or service.
    public var type: AccountType
    /// The account's scopes.
    public var scopes: [String]
    /// The account's metadata.
    public var metadata: [String: String]
    /// The secret to set; nil: a random one is made (and returned once in ``Account/secret``).
    public var secret: String?

    /// Options; by default a user account with no scopes and a random secret.
    public init(type: AccountType = .user, scopes: [String] = [], metadata: [String: String] = [:], secret: String? = nil) {
        self.type = type
        self.scopes = scopes
        self.metadata = metadata
        self.secret = secret
    }
}
