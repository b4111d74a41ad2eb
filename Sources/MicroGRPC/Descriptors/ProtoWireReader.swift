/// Reads protobuf's binary wire format from a byte slice, bounds-checked: a truncated varint, a
/// length past the end or an unknown wire type is a `ProtoTranscodingError` of code
/// `malformedProtobuf`, never a trap.
struct ProtoWireReader {
    private let bytes: ArraySlice<UInt8>
    private var i: Int
    let path: String

    init(_ bytes: ArraySlice<UInt8>, path: String) {
        self.bytes = bytes
        self.i = bytes.startIndex
        self.path = path
    }

    var isAtEnd: Bool { i >= bytes.endIndex }

    private func fail(_ message: String) -> ProtoTranscodingError {
        ProtoTranscodingError(.malformedProtobuf, path: path, "malformed protobuf: \(message)")
    }

    mutating func varint() throws(ProtoTranscodingError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < bytes.endIndex else { throw fail("truncated varint") }
            let b = bytes[i]
            i += 1
            if shift == 63, b > 1 { throw fail("varint longer than 64 bits") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            guard shift <= 63 else { throw fail("varint longer than 10 bytes") }
        }
    }

    /// A field's number and wire type.
    mutating func tag() throws(ProtoTranscodingError) -> (number: Int, wireType: UInt64) {
        let t = try varint()
        let number = t >> 3, wire = t & 7
        guard number >= 1, number <= 536_870_911 else { throw fail("field number \(number) out of range") }
        guard wire <= 5 else { throw fail("wire type \(wire) of field \(number)") }
        return (Int(number), wire)
    }

    mutating func fixed32() throws(ProtoTranscodingError) -> UInt32 {
        guard bytes.endIndex - i >= 4 else { throw fail("truncated fixed32") }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[i + k]) << UInt32(8 * k) }
        i += 4
        return v
    }

    mutating func fixed64() throws(ProtoTranscodingError) -> UInt64 {
        guard bytes.endIndex - i >= 8 else { throw fail("truncated fixed64") }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[i + k]) << UInt64(8 * k) }
        i += 8
        return v
    }

    mutating func lengthDelimited() throws(ProtoTranscodingError) -> ArraySlice<UInt8> {
        let n = try varint()
        guard n <= UInt64(bytes.endIndex - i) else { throw fail("length \(n) past the end of the message") }
        let out = bytes[i..<(i + Int(n))]
        i += Int(n)
        return out
    }

    /// Skips a value of `wireType` (groups to their end tag, at most `depth` levels deep).
    mutating func skip(_ wireType: UInt64, number: Int, depth: Int) throws(ProtoTranscodingError) {
        switch wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed64()
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        case 3:
            guard depth > 0 else { throw ProtoTranscodingError(.tooDeep, path: path, "groups nest too deep") }
            while true {
                let (n, w) = try tag()
                if w == 4 {
                    guard n == number else { throw fail("group \(number) ended by \(n)") }
                    return
                }
                try skip(w, number: n, depth: depth - 1)
            }
        default: throw fail("unexpected end-group tag of field \(number)")
        }
    }
}
