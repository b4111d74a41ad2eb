/// How ``Auth/token(_:)`` is asked for a token pair (go-micro's `TokenOptions`): with an account's
/// credentials, or with a refresh token (used once).
public enum TokenRequest: Sendable, Hashable {
    /// The account's id and secret.
    case credentials(id: String, secret: String)
    /// A refresh token from an earlier pair.
    case refresh(String)
}
