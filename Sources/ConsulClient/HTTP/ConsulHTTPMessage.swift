import Foundation
import NIOHTTP1

/// One request to an agent: method, path, query and body (headers are added by the agent client).
struct ConsulHTTPRequest: Sendable {
    var method: HTTPMethod
    /// The path, each segment already percent-encoded.
    var path: String
    /// Query parameters in order; a nil value is a bare flag (`?stale`).
    var query: [(String, String?)] = []
    var headers: [(String, String)] = []
    var body: [UInt8]?

    /// `path?query`, as it goes on the request line.
    var uri: String {
        guard !query.isEmpty else { return path }
        return path + "?" + query.map { k, v in
            v.map { "\(Self.escape(k))=\(Self.escape($0))" } ?? Self.escape(k)
        }.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

/// An agent's answer.
struct ConsulHTTPResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    /// Whether the connection may carry another request.
    var keepAlive: Bool

    /// The `X-Consul-Index` header, when present and a number.
    var consulIndex: UInt64? {
        headers.first(name: "X-Consul-Index").flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
    }
}
