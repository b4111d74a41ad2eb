import Foundation

/// Encodes `Encodable` values as JSON written straight into bytes, in the order the containers are
/// filled, with the output of Foundation's `JSONEncoder` (`.withoutEscapingSlashes`): members in
/// encoding order, `Data` as base64, `URL` as its absolute string, `Date` as seconds since 2001,
/// numbers as Swift prints them (`1` for `1.0`), non-finite numbers refused.
///
/// Containers are used the way synthesized and hand-written `encode(to:)` use them: a container
/// takes members until one of its parents takes the next; writing into a container after its parent
/// moved on is an `EncodingError` (the value would have to be reordered).
enum JSONStreamEncoding {
    /// The JSON text of `value`.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = JSONStreamWriter()
        try writer.encodeValue(value, slot: writer.newSlot(), path: nil)
        if writer.out.isEmpty {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        writer.finish()
        if let failure = writer.failure { throw failure }
        return writer.out
    }
}

/// The output and the containers still open (innermost last).
final class JSONStreamWriter {
    var out: [UInt8] = []
    struct Open {
        /// Which container (containers remember it to find themselves).
        var id: Int
        /// The encoder slot it was asked from: asking again returns the same container.
        var slot: Int
        var isObject: Bool
        var count: Int
    }
    private(set) var stack: [Open] = []
    private var nextID = 0
    /// Where the value of an encoder handed out to the caller (`superEncoder`) starts, and that encoder's slot:
    /// when something else writes next and the output has not moved, the value wrote nothing, so `{}`.
    private var pending = -1
    private var pendingSlot = -1
    /// The first misuse seen where no error could be thrown.
    var failure: EncodingError?

    init() { out.reserveCapacity(128) }

    func newSlot() -> Int {
        nextID += 1
        return nextID
    }

    private func settle() {
        if pending == out.count { out.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")]) }
        pending = -1
    }

    /// Encoder `slot` writes its value now: if it is the handed-out one, it is not empty.
    func claim(_ slot: Int) {
        if slot == pendingSlot { pending = -1 }
    }

    /// Closes every container above `id`; false when `id` is not open (its parent moved on).
    private func makeTop(_ id: Int) -> Bool {
        settle()
        guard let at = stack.lastIndex(where: { $0.id == id }) else { return false }
        while stack.count > at + 1 { close() }
        return true
    }

    private func close() {
        let c = stack.removeLast()
        out.append(c.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
    }

    func finish() {
        settle()
        while !stack.isEmpty { close() }
    }

    /// Opens an object or array for encoder `slot`, or finds the one it opened before (e.g. a subclass and its superclass).
    func container(slot: Int, isObject: Bool) -> Int {
        claim(slot)
        settle()
        if let existing = stack.last(where: { $0.slot == slot }) {
            _ = makeTop(existing.id)
            if existing.isObject != isObject { fail("a value asked for both a keyed and an unkeyed container") }
            return existing.id
        }
        nextID += 1
        stack.append(Open(id: nextID, slot: slot, isObject: isObject, count: 0))
        out.append(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
        return nextID
    }

    /// Starts the next member of container `id` (`key` for objects): the separator and key are written.
    func member(_ id: Int, key: String?) throws {
        guard makeTop(id) else { throw misuse() }
        if stack[stack.count - 1].count > 0 { out.append(UInt8(ascii: ",")) }
        stack[stack.count - 1].count += 1
        if let key {
            writeString(key)
            out.append(UInt8(ascii: ":"))
        }
    }

    /// `member`, for the calls that cannot throw (the error surfaces when encoding ends).
    func memberOrFail(_ id: Int, key: String?) {
        do { try member(id, key: key) } catch { fail("a container was used after its parent moved on") }
    }

    /// Marks the start of the value of encoder `slot`, handed to a caller (it may write nothing); returns `slot`.
    func expectValue(slot: Int) -> Int {
        pending = out.count
        pendingSlot = slot
        return slot
    }

    func count(of id: Int) -> Int { stack.last(where: { $0.id == id })?.count ?? 0 }

    private func misuse() -> EncodingError {
        EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "a container was used after its parent moved on (JSON is written in order)"))
    }

    func fail(_ reason: String) {
        if failure == nil { failure = EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: reason)) }
    }

    // MARK: Values

    /// Writes one value at the current position.
    func encodeValue<T: Encodable>(_ value: T, slot: Int, path: JSONCodingPath?) throws {
        if T.self == String.self { writeString(value as! String); return }
        if T.self == Data.self { writeString((value as! Data).base64EncodedString()); return }
        if T.self == URL.self { writeString((value as! URL).absoluteString); return }
        if T.self == Decimal.self { out.append(contentsOf: (value as! Decimal).description.utf8); return }
        let start = out.count
        try value.encode(to: JSONStreamEncoder(writer: self, slot: slot, path: path))
        settle()
        if out.count == start, start > 0 {   // wrote nothing: an empty object, as Foundation writes
            out.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])
        }
    }

    func writeNull() { out.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")]) }

    func writeBool(_ v: Bool) {
        if v {
            out.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            out.append(contentsOf: [UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e")])
        }
    }

    func writeInteger<T: FixedWidthInteger>(_ v: T) {
        if v == 0 { out.append(UInt8(ascii: "0")); return }
        var magnitude = v.magnitude
        if T.isSigned && v < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: room for 20 digits
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while magnitude > 0 {
                let (q, r) = magnitude.quotientAndRemainder(dividingBy: 10)
                d[23 - n] = UInt8(ascii: "0") + UInt8(r)
                n += 1
                magnitude = q
            }
            out.append(contentsOf: d[(24 - n)...])
        }
    }

    func writeDouble(_ v: Double, path: @autoclosure () -> JSONCodingPath?) throws {
        guard v.isFinite else {
            throw EncodingError.invalidValue(v, .init(codingPath: JSONCodingPath.keys(path()), debugDescription: "Unable to encode Double.\(v) directly in JSON."))
        }
        writeNumberText(v.description)
    }

    func writeFloat(_ v: Float, path: @autoclosure () -> JSONCodingPath?) throws {
        guard v.isFinite else {
            throw EncodingError.invalidValue(v, .init(codingPath: JSONCodingPath.keys(path()), debugDescription: "Unable to encode Float.\(v) directly in JSON."))
        }
        writeNumberText(v.description)
    }

    /// Swift's shortest form, without a trailing `.0` (as Foundation writes numbers).
    private func writeNumberText(_ text: String) {
        var utf8 = Substring(text).utf8
        if utf8.count > 2, utf8.last == UInt8(ascii: "0"), utf8[utf8.index(utf8.endIndex, offsetBy: -2)] == UInt8(ascii: ".") {
            utf8 = utf8.dropLast(2)
        }
        out.append(contentsOf: utf8)
    }

    /// A quoted string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes, the rest as is.
    func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var runStart = 0
            for (i, c) in u.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The encoder one value is handed; also its single-value container.
struct JSONStreamEncoder: Encoder, SingleValueEncodingContainer {
    let writer: JSONStreamWriter
    let slot: Int
    let path: JSONCodingPath?

    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(JSONKeyedEncoding<Key>(writer: writer, id: writer.container(slot: slot, isObject: true), path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        JSONUnkeyedEncoding(writer: writer, id: writer.container(slot: slot, isObject: false), path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() { writer.claim(slot); writer.writeNull() }
    func encode(_ value: Bool) { writer.claim(slot); writer.writeBool(value) }
    func encode(_ value: String) { writer.claim(slot); writer.writeString(value) }
    func encode(_ value: Double) throws { writer.claim(slot); try writer.writeDouble(value, path: path) }
    func encode(_ value: Float) throws { writer.claim(slot); try writer.writeFloat(value, path: path) }
    func encode(_ value: Int) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: Int8) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: Int16) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: Int32) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: Int64) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: UInt) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: UInt8) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: UInt16) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: UInt32) { writer.claim(slot); writer.writeInteger(value) }
    func encode(_ value: UInt64) { writer.claim(slot); writer.writeInteger(value) }
    func encode<T: Encodable>(_ value: T) throws { writer.claim(slot); try writer.encodeValue(value, slot: writer.newSlot(), path: path) }
}

/// An object being written.
struct JSONKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONStreamWriter
    let id: Int
    let path: JSONCodingPath?

    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }

    private func child(_ key: Key) -> JSONCodingPath { JSONCodingPath(parent: path, key: JSONKey(key)) }

    mutating func encodeNil(forKey key: Key) throws { try writer.member(id, key: key.stringValue); writer.writeNull() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try writer.member(id, key: key.stringValue); writer.writeBool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try writer.member(id, key: key.stringValue); writer.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try writer.member(id, key: key.stringValue); try writer.writeDouble(value, path: child(key)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try writer.member(id, key: key.stringValue); try writer.writeFloat(value, path: child(key)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }

    private func integer<T: FixedWidthInteger>(_ value: T, _ key: Key) throws {
        try writer.member(id, key: key.stringValue)
        writer.writeInteger(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try writer.member(id, key: key.stringValue)
        try writer.encodeValue(value, slot: writer.newSlot(), path: child(key))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        writer.memberOrFail(id, key: key.stringValue)
        return KeyedEncodingContainer(JSONKeyedEncoding<NestedKey>(writer: writer, id: writer.container(slot: writer.newSlot(), isObject: true), path: child(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        writer.memberOrFail(id, key: key.stringValue)
        return JSONUnkeyedEncoding(writer: writer, id: writer.container(slot: writer.newSlot(), isObject: false), path: child(key))
    }

    mutating func superEncoder() -> any Encoder {
        writer.memberOrFail(id, key: JSONKey.super.stringValue)
        return JSONStreamEncoder(writer: writer, slot: writer.expectValue(slot: writer.newSlot()), path: JSONCodingPath(parent: path, key: .super))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.memberOrFail(id, key: key.stringValue)
        return JSONStreamEncoder(writer: writer, slot: writer.expectValue(slot: writer.newSlot()), path: child(key))
    }
}

/// An array being written.
struct JSONUnkeyedEncoding: UnkeyedEncodingContainer {
    let writer: JSONStreamWriter
    let id: Int
    let path: JSONCodingPath?

    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }
    var count: Int { writer.count(of: id) }

    private var child: JSONCodingPath { JSONCodingPath(parent: path, key: JSONKey(intValue: count)) }

    mutating func encodeNil() throws { try writer.member(id, key: nil); writer.writeNull() }
    mutating func encode(_ value: Bool) throws { try writer.member(id, key: nil); writer.writeBool(value) }
    mutating func encode(_ value: String) throws { try writer.member(id, key: nil); writer.writeString(value) }
    mutating func encode(_ value: Double) throws { let p = path, n = count; try writer.member(id, key: nil); try writer.writeDouble(value, path: JSONCodingPath(parent: p, key: JSONKey(intValue: n))) }
    mutating func encode(_ value: Float) throws { let p = path, n = count; try writer.member(id, key: nil); try writer.writeFloat(value, path: JSONCodingPath(parent: p, key: JSONKey(intValue: n))) }
    mutating func encode(_ value: Int) throws { try integer(value) }
    mutating func encode(_ value: Int8) throws { try integer(value) }
    mutating func encode(_ value: Int16) throws { try integer(value) }
    mutating func encode(_ value: Int32) throws { try integer(value) }
    mutating func encode(_ value: Int64) throws { try integer(value) }
    mutating func encode(_ value: UInt) throws { try integer(value) }
    mutating func encode(_ value: UInt8) throws { try integer(value) }
    mutating func encode(_ value: UInt16) throws { try integer(value) }
    mutating func encode(_ value: UInt32) throws { try integer(value) }
    mutating func encode(_ value: UInt64) throws { try integer(value) }

    private func integer<T: FixedWidthInteger>(_ value: T) throws {
        try writer.member(id, key: nil)
        writer.writeInteger(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let p = child
        try writer.member(id, key: nil)
        try writer.encodeValue(value, slot: writer.newSlot(), path: p)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let p = child
        writer.memberOrFail(id, key: nil)
        return KeyedEncodingContainer(JSONKeyedEncoding<NestedKey>(writer: writer, id: writer.container(slot: writer.newSlot(), isObject: true), path: p))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let p = child
        writer.memberOrFail(id, key: nil)
        return JSONUnkeyedEncoding(writer: writer, id: writer.container(slot: writer.newSlot(), isObject: false), path: p)
    }

    mutating func superEncoder() -> any Encoder {
        let p = child
        writer.memberOrFail(id, key: nil)
        return JSONStreamEncoder(writer: writer, slot: writer.expectValue(slot: writer.newSlot()), path: p)
    }
}
