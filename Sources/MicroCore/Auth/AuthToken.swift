import Foundation

/// A pair of tokens (go-micro's `auth.Token`): a short-lived access token sent with calls, and a refresh
/// token that buys the next pair once.
public struct AuthToken: Sendable, Hashable, Codable {
    /// Sent as `Authorization: Bearer <accessToken>`.
    public var accessToken: String
    /// Exchanged once for a new pair (``TokenRequest/refresh(_:)``).
    public var refreshToken: String
    /// When the pair was issued.
    public var created: Date
    /// When the access token stops being accepted.
    public var expiry: Date

    /// A token pair.
    public init(accessToken: String, refreshToken: String, created: Date, expiry: Date) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.created = created
        self.expiry = expiry
    }

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", refreshToken = "refresh_token", created, expiry
    }
}
