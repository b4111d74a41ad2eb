import Foundation
import MicroCore

/// The header of a token as read before any key is touched: the algorithm must be exactly `EdDSA`
/// (so `none`, `HS256` signed with the public key and any other algorithm are refused), a key id must
/// be named, and no `crit` extension may be asked for.
struct JOSEHeader: Decodable {
    var alg: String
    var kid: String?
    var typ: String?
    var crit: [String]?

    static let algorithm = "EdDSA"

    /// The key id of `token`'s header, or ``AuthError/Code/invalidToken``.
    static func kid(of token: String) throws(AuthError) -> String {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            throw AuthError(.invalidToken, "the token is not a signed JWT")
        }
        guard let data = base64URLDecode(parts[0]), let header = try? JSONDecoder().decode(JOSEHeader.self, from: data) else {
            throw AuthError(.invalidToken, "the token's header does not decode")
        }
        guard header.alg == algorithm else { throw AuthError(.invalidToken, "the token's algorithm is not \(algorithm)") }
        guard header.crit == nil else { throw AuthError(.invalidToken, "the token asks for critical extensions") }
        guard header.typ == nil || header.typ?.uppercased() == "JWT" else { throw AuthError(.invalidToken, "the token is not a JWT") }
        guard let kid = header.kid, !kid.isEmpty else { throw AuthError(.invalidToken, "the token names no key") }
        return kid
    }

    static func base64URLDecode(_ bytes: some Collection<UInt8>) -> Data? {
        var text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !text.contains("=") else { return nil }
        text += String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        return Data(base64Encoded: text)
    }
}
