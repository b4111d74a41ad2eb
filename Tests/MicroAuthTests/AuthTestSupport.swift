import Foundation
@testable import MicroAuth
import MicroCore

/// A JWT auth on `store` with a cheap secret hash (tests make many accounts; the cost is a parameter).
func testAuth(_ store: any Store = MemoryStore(), issuer: String = "micro", audience: String = "micro",
              accessTTL: Duration = .seconds(900), rulesRefresh: Duration = .seconds(1)) -> JWTAuth {
    JWTAuth(store: store, configuration: JWTAuthConfiguration(
        issuer: issuer, audience: audience, accessTTL: accessTTL, secretHashing: SecretHashing(cost: 1 << 10),
        rulesRefreshInterval: rulesRefresh))
}

/// Base64url without padding.
func b64url(_ bytes: some Sequence<UInt8>) -> String { AuthSecrets.base64URL(bytes) }
func b64url(_ text: String) -> String { AuthSecrets.base64URL(Array(text.utf8)) }

extension String {
    /// The token's three parts.
    var jwtParts: [String] { split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
}
