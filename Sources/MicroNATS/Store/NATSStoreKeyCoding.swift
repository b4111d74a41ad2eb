import MicroCore

/// How a store key becomes a key-value key (one subject token): the bytes `A-Z a-z 0-9 - _ /` stay as
/// they are, every other byte of the key's UTF-8 becomes `=` and two uppercase hex digits (`a b` is
/// `a=20b`, `.` is `=2E`, `é` is `=C3=A9`). The result is a valid NATS key-value key; decoding accepts
/// exactly what encoding makes, so the mapping is one-to-one.
package enum NATSStoreKeyCoding {
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func isPlain(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "/"): true
        default: false
        }
    }

    /// The key-value key of `key`.
    package static func encode(_ key: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(key.utf8.count)
        for b in key.utf8 {
            if isPlain(b) {
                out.append(b)
            } else {
                out += [UInt8(ascii: "="), hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The store key of a key-value key; throws ``MicroCore/StoreError/Code/malformed`` for one this
    /// encoding does not make (other bytes, lowercase hex, an escaped plain byte, not UTF-8, not a valid key).
    package static func decode(_ token: String) throws -> String {
        func malformed() -> StoreError {
            StoreError(.malformed, "the bucket holds a key this store did not write: '\(StoreKey.printable(token))'")
        }
        let bytes = Array(token.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if isPlain(b) {
                out.append(b)
                i += 1
                continue
            }
            guard b == UInt8(ascii: "="), i + 2 < bytes.count,
                  let high = hex.firstIndex(of: bytes[i + 1]), let low = hex.firstIndex(of: bytes[i + 2]) else { throw malformed() }
            let decoded = UInt8(high << 4 | low)
            guard !isPlain(decoded) else { throw malformed() }
            out.append(decoded)
            i += 3
        }
        guard let key = String(validating: out, as: UTF8.self), (try? StoreKey.validate(key)) != nil else { throw malformed() }
        return key
    }
}
