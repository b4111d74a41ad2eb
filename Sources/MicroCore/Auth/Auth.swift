/// Accounts, tokens and rules (go-micro's `auth.Auth`): generate accounts, exchange credentials for
/// tokens, inspect a token back into its account, and keep the rules ``AuthHandlerWrapper`` applies.
///
/// Implementations: ``MemoryAuth`` (in process, for tests) and `MicroAuth`'s `JWTAuth` (signed tokens,
/// everything kept in a ``Store``) and `RemoteAuth` (an auth service over RPC).
public protocol Auth: Sendable {
    /// The auth's name as `MICRO_AUTH` spells it (`memory`, `jwt`, ...).
    var name: String { get }
    /// Creates an account; its ``Account/secret`` holds the secret this once.
    func generate(_ id: String, options: AccountOptions) async throws -> Account
    /// The account a valid access token stands for; throws ``AuthError/Code/invalidToken`` otherwise.
    func inspect(_ token: String) async throws -> Account
    /// A new token pair for credentials or a refresh token; throws ``AuthError/Code/invalidCredentials``.
    func token(_ request: TokenRequest) async throws -> AuthToken
    /// Adds or replaces a rule (by id).
    func grant(_ rule: Rule) async throws
    /// Removes the rule with `id`; throws ``AuthError/Code/notFound`` when there is none.
    func revoke(_ id: String) async throws
    /// The rules, ready to verify with.
    func rules() async throws -> RuleSet
    /// Every account, without secrets, by id.
    func accounts() async throws -> [Account]
    /// Deletes an account; its refresh tokens stop working at once, its access tokens at their expiry.
    func deleteAccount(_ id: String) async throws
}
