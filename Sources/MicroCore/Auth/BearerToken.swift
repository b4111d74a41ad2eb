/// Reads go-micro's `Authorization: Bearer <token>` from a call's metadata or a message's headers.
///
/// The scheme matches case-insensitively; the token must be one run of token68 characters (RFC 9110)
/// of at most ``maxLength`` bytes. A header sent twice reaches here joined with `, ` (HTTP, gRPC and
/// NATS all join repeated fields) and is refused, as is any other malformed value; a message whose
/// header map holds `Authorization` under two spellings is refused too. Tokens elsewhere (a query
/// string, a cookie) are never read.
public enum BearerToken {
    /// The metadata key (lowercase; metadata matches keys case-insensitively).
    public static let header = "authorization"
    /// The largest token accepted, in bytes: more is refused before any parsing.
    public static let maxLength = 8192

    /// The token in a call's metadata; nil when none was sent.
    public static func token(in metadata: Metadata) throws(AuthError) -> String? {
        guard let value = metadata[lowercased: header] else { return nil }
        return try parse(value)
    }

    /// The token in a broker message's headers; nil when none was sent.
    public static func token(in headers: [String: String]) throws(AuthError) -> String? {
        var found: String?
        for (key, value) in headers where key.count == header.count && key.lowercased() == header {
            guard found == nil else { throw AuthError(.invalidToken, "the Authorization header was sent more than once") }
            found = value
        }
        return try found.map { v throws(AuthError) in try parse(v) }
    }

    /// The text after the `Bearer ` scheme (matched case-insensitively) of an `Authorization` value, as
    /// sent and not checked: for finding a token verified before without copying it. Nil when the value
    /// is not `Bearer ` and more (``parse(_:)`` says what is wrong with it).
    package static func presented(_ value: String) -> Substring? {
        var value = value
        guard value.withUTF8({ hasBearerScheme($0) }) else { return nil }
        return Substring(value.utf8.dropFirst(7))
    }

    /// The token of one `Authorization` value.
    public static func parse(_ value: String) throws(AuthError) -> String {
        var value = value
        // One pass over the contiguous UTF-8 (no copy but the token's): the scheme compared in place,
        // then every token byte checked against a bit set, without a branch per byte. This runs on
        // every call, so it stays a tight loop and makes no generic value (a Result) on the way.
        var failure: String?
        let token: String? = value.withUTF8 { bytes in
            guard bytes.count <= maxLength + 7 else {
                failure = "the Authorization header is larger than \(maxLength) bytes"
                return nil
            }
            guard hasBearerScheme(bytes) else {
                failure = "the Authorization header is not 'Bearer <token>'"
                return nil
            }
            let token = UnsafeBufferPointer(rebasing: bytes[7...])
            var bad: UInt64 = 0
            for byte in token { bad |= notToken68(byte) }
            guard bad == 0 else {
                failure = "the bearer token is malformed (sent twice, or holds characters a token cannot)"
                return nil
            }
            return String(decoding: token, as: UTF8.self)
        }
        guard let token else { throw AuthError(.invalidToken, failure ?? "the Authorization header is malformed") }
        return token
    }

    /// The `Authorization` value carrying `token`.
    public static func value(_ token: String) -> String { "Bearer \(token)" }

    /// Whether `bytes` are `Bearer ` (the scheme in any case) and at least one byte more.
    @inline(__always)
    private static func hasBearerScheme(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let scheme: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0x62, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20)  // "bearer "
        return bytes.count > 7 && lowercasedASCII(bytes[0]) == scheme.0 && lowercasedASCII(bytes[1]) == scheme.1
            && lowercasedASCII(bytes[2]) == scheme.2 && lowercasedASCII(bytes[3]) == scheme.3 && lowercasedASCII(bytes[4]) == scheme.4
            && lowercasedASCII(bytes[5]) == scheme.5 && bytes[6] == scheme.6
    }

    @inline(__always)
    private static func lowercasedASCII(_ b: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) ? b | 0x20 : b
    }

    /// 0 for a token68 character (RFC 9110: letters, digits, `-._~+/=`), else non-zero: bit `b` of a
    /// 128-bit set of those characters, and any byte from 0x80 up.
    @inline(__always)
    private static func notToken68(_ b: UInt8) -> UInt64 {
        let set: UInt64 = b < 64 ? 0x23FF_E800_0000_0000 : 0x47FF_FFFE_87FF_FFFE  // bytes 0–63, bytes 64–127
        return (~set >> UInt64(b & 63)) & 1 | UInt64(b >> 7)
    }
}
