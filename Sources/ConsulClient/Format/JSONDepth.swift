/// A guard run before decoding JSON from a peer: nesting deeper than a limit is refused up front, so
/// a hostile answer or tag cannot drive a recursive decoder deep.
package enum JSONDepth {
    /// Whether `bytes` nest arrays or objects deeper than `limit` (brackets inside strings do not count).
    package static func exceeds<C: Collection>(_ bytes: C, limit: Int) -> Bool where C.Element == UInt8 {
        var depth = 0
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }
}
