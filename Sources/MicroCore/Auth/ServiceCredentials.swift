import NIOConcurrencyHelpers

/// The token a service calls and publishes with: set by ``ServiceTokenRefresher`` (or by hand), read
/// by ``AuthCallWrapper`` and ``AuthPublishWrapper`` on every call.
public final class ServiceCredentials: Sendable {
    private let current = NIOLockedValueBox<AuthToken?>(nil)

    /// Credentials holding no token yet.
    public init() {}

    /// The token pair, nil before the first was obtained.
    public var token: AuthToken? { current.withLockedValue { $0 } }

    /// Replaces the token pair.
    public func update(_ token: AuthToken?) {
        current.withLockedValue { $0 = token }
    }

    /// `Bearer <access token>`, nil without a token.
    var authorization: String? { current.withLockedValue { $0.map { BearerToken.value($0.accessToken) } } }
}
