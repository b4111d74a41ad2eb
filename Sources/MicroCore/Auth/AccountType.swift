/// Who an account belongs to (go-micro's account `Type`): a person, or a service calling on its own behalf.
public enum AccountType: String, Sendable, Hashable, Codable, CaseIterable {
    /// A person (logs in with `micro login`).
    case user
    /// A service (obtains its own token at start).
    case service
}
