/// An identity that can hold tokens (go-micro's `auth.Account`): its id, type, issuer, metadata and scopes.
///
/// ``secret`` is filled only in the answer to ``Auth/generate(_:options:)``, the one time the secret is
/// shown; accounts read back, inspected from a token or listed never carry it.
public struct Account: Sendable, Hashable, Codable {
    /// The account's id, unique per issuer (a user name or a service name).
    public var id: String
    /// User or service.
    public var type: AccountType
    /// Who issued it (the auth's issuer, go-micro's namespace).
    public var issuer: String
    /// Free-form key/value facts about the account.
    public var metadata: [String: String]
    /// The scopes rules grant or deny on (``Rule/scope``).
    public var scopes: [String]
    /// The secret, present only when the account was just generated.
    public var secret: String?

    /// An account.
    public init(id: String, type: AccountType = .user, issuer: String = "", metadata: [String: String] = [:],
                scopes: [String] = [], secret: String? = nil) {
        self.id = id
        self.type = type
        self.issuer = issuer
        self.metadata = metadata
        self.scopes = scopes
        self.secret = secret
    }

    /// The same account without its secret.
    public var withoutSecret: Account {
        var copy = self
        copy.secret = nil
        return copy
    }
}
