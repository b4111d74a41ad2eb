import Foundation

/// Decodes `Decodable` values from JSON through a ``JSONTape``, with Foundation's `JSONDecoder`
/// defaults: `Data` from base64, `URL` from a string, `Decimal` from a number, `Date` as Foundation
/// encodes it (seconds since 2001); `DecodingError`s with coding paths as Foundation reports them.
/// Unknown keys are ignored; when a key appears twice the first one counts (as in Foundation).
enum JSONTapeDecoding {
    /// Decodes a `T` from the JSON text in `bytes`.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let tape: JSONTape
        do { tape = try JSONTape(bytes) } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: [], debugDescription: "The given data was not valid JSON: \(error)", underlyingError: error))
        }
        return try JSONTapeDecoder(tape: tape, index: 0, path: nil).decodeValue(T.self, at: 0, path: nil)
    }
}

/// A coding path as a linked list, so decoding a nested value costs one small node, not an array copy.
final class JSONCodingPath: Sendable {
    let parent: JSONCodingPath?
    let key: JSONKey

    init(parent: JSONCodingPath?, key: JSONKey) {
        self.parent = parent
        self.key = key
    }

    static func keys(_ path: JSONCodingPath?) -> [any CodingKey] {
        var keys: [any CodingKey] = []
        var node = path
        while let n = node { keys.append(n.key); node = n.parent }
        return keys.reversed()
    }
}

/// A key of a coding path: an object member's name or an array index.
struct JSONKey: CodingKey, Sendable {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) { self.stringValue = "Index \(intValue)"; self.intValue = intValue }
    init(_ key: some CodingKey) { stringValue = key.stringValue; intValue = key.intValue }
    static let `super` = JSONKey(stringValue: "super")
}

/// The decoder for one value of the tape; also its single-value container.
struct JSONTapeDecoder: Decoder, SingleValueDecodingContainer {
    let tape: JSONTape
    let index: Int
    let path: JSONCodingPath?

    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try expect(.object, [String: Any].self, at: index, path: path)
        return KeyedDecodingContainer(JSONKeyedDecoding<Key>(tape: tape, object: index, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try expect(.array, [Any].self, at: index, path: path)
        return JSONUnkeyedDecoding(tape: tape, array: index, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Single value

    func decodeNil() -> Bool { tape.entries[index].kind == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeBool(at: index, path: path) }
    func decode(_ type: String.Type) throws -> String { try decodeString(at: index, path: path) }
    func decode(_ type: Double.Type) throws -> Double { try decodeDouble(at: index, path: path) }
    func decode(_ type: Float.Type) throws -> Float { try decodeFloat(at: index, path: path) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(at: index, path: path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(at: index, path: path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(at: index, path: path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(at: index, path: path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(at: index, path: path) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(at: index, path: path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(at: index, path: path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(at: index, path: path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(at: index, path: path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(at: index, path: path) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(T.self, at: index, path: path) }

    // MARK: Values at any index (shared by the containers)

    func describe(_ kind: JSONTape.Entry.Kind) -> String {
        switch kind {
        case .object: return "a dictionary"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .true, .false: return "bool"
        case .null: return "null"
        }
    }

    func mismatch<T>(_ type: T.Type, at index: Int, path: @autoclosure () -> JSONCodingPath?) -> DecodingError {
        let kind = tape.entries[index].kind
        if kind == .null {
            return .valueNotFound(type, .init(codingPath: JSONCodingPath.keys(path()), debugDescription: "Expected \(type) value but found null instead."))
        }
        return .typeMismatch(type, .init(codingPath: JSONCodingPath.keys(path()), debugDescription: "Expected to decode \(type) but found \(describe(kind)) instead."))
    }

    func expect<T>(_ kind: JSONTape.Entry.Kind, _ type: T.Type, at index: Int, path: @autoclosure () -> JSONCodingPath?) throws {
        guard tape.entries[index].kind == kind else { throw mismatch(type, at: index, path: path()) }
    }

    func decodeBool(at index: Int, path: @autoclosure () -> JSONCodingPath?) throws -> Bool {
        switch tape.entries[index].kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(Bool.self, at: index, path: path())
        }
    }

    func decodeString(at index: Int, path: @autoclosure () -> JSONCodingPath?) throws -> String {
        try expect(.string, String.self, at: index, path: path())
        return tape.string(at: index)
    }

    func decodeDouble(at index: Int, path: @autoclosure () -> JSONCodingPath?) throws -> Double {
        try expect(.number, Double.self, at: index, path: path())
        if let (negative, magnitude) = tape.integer(at: index), magnitude <= 1 << 53 {
            return negative ? -Double(magnitude) : Double(magnitude)
        }
        guard let d = Double(tape.numberText(at: index)), d.isFinite else {
            throw DecodingError.dataCorrupted(.init(codingPath: JSONCodingPath.keys(path()),
                                                    debugDescription: "Parsed JSON number <\(tape.numberText(at: index))> does not fit in Double."))
        }
        return d
    }

    func decodeFloat(at index: Int, path: @autoclosure () -> JSONCodingPath?) throws -> Float {
        let d = try decodeDouble(at: index, path: path())
        let f = Float(d)
        guard f.isFinite else {
            throw DecodingError.dataCorrupted(.init(codingPath: JSONCodingPath.keys(path()),
                                                    debugDescription: "Parsed JSON number <\(tape.numberText(at: index))> does not fit in Float."))
        }
        return f
    }

    func decodeInteger<T: FixedWidthInteger>(at index: Int, path: @autoclosure () -> JSONCodingPath?) throws -> T {
        try expect(.number, T.self, at: index, path: path())
        if let (negative, magnitude) = tape.integer(at: index) {
            if negative {
                if magnitude <= UInt64(Int64.max), let v = T(exactly: -Int64(magnitude)) { return v }
                if magnitude == UInt64(Int64.max) + 1, let v = T(exactly: Int64.min) { return v }
            } else if let v = T(exactly: magnitude) {
                return v
            }
        } else if let d = Double(tape.numberText(at: index)), let v = T(exactly: d) {
            return v   // 1.0 or 1e2: an integer written as a float
        }
        throw DecodingError.dataCorrupted(.init(codingPath: JSONCodingPath.keys(path()),
                                                debugDescription: "Parsed JSON number <\(tape.numberText(at: index))> does not fit in \(T.self)."))
    }

    func decodeValue<T: Decodable>(_ type: T.Type, at index: Int, path: JSONCodingPath?) throws -> T {
        // Foundation's defaults for the types JSON has no form of its own for.
        if T.self == Data.self {
            let text = try decodeString(at: index, path: path)
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: JSONCodingPath.keys(path), debugDescription: "Encountered Data is not valid Base64."))
            }
            return data as! T
        }
        if T.self == URL.self {
            let text = try decodeString(at: index, path: path)
            guard let url = URL(string: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: JSONCodingPath.keys(path), debugDescription: "Invalid URL string."))
            }
            return url as! T
        }
        if T.self == Decimal.self {
            try expect(.number, Decimal.self, at: index, path: path)
            guard let d = Decimal(string: String(tape.numberText(at: index)), locale: nil) else {
                throw DecodingError.dataCorrupted(.init(codingPath: JSONCodingPath.keys(path), debugDescription: "Invalid Decimal."))
            }
            return d as! T
        }
        return try T(from: JSONTapeDecoder(tape: tape, index: index, path: path))
    }
}

/// An object's members.
struct JSONKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let tape: JSONTape
    let object: Int
    let path: JSONCodingPath?
    /// Large objects (dictionaries): member name → value index, built once.
    private let table: [String: Int]?

    /// Objects with more members than this get a lookup table.
    static var tableThreshold: Int { 16 }

    init(tape: JSONTape, object: Int, path: JSONCodingPath?) {
        self.tape = tape
        self.object = object
        self.path = path
        let count = Int(tape.entries[object].count)
        if count > Self.tableThreshold {
            var table: [String: Int] = [:]
            table.reserveCapacity(count)
            var i = object + 1
            for _ in 0..<count {
                let name = tape.string(at: i)
                if table[name] == nil { table[name] = i + 1 }
                i = Int(tape.entries[i + 1].next)
            }
            self.table = table
        } else {
            table = nil
        }
    }

    private var decoder: JSONTapeDecoder { JSONTapeDecoder(tape: tape, index: object, path: path) }
    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }

    var allKeys: [Key] {
        var keys: [Key] = []
        var i = object + 1
        for _ in 0..<Int(tape.entries[object].count) {
            if let k = Key(stringValue: tape.string(at: i)) { keys.append(k) }
            i = Int(tape.entries[i + 1].next)
        }
        return keys
    }

    /// The value index of `key`'s member (the first one when it appears twice), nil when absent.
    private func lookup(_ key: Key) -> Int? {
        if let table { return table[key.stringValue] }
        return lookupName(key.stringValue)
    }

    private func value(_ key: Key) throws -> Int {
        guard let v = lookup(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return v
    }

    private func child(_ key: Key) -> JSONCodingPath { JSONCodingPath(parent: path, key: JSONKey(key)) }

    func contains(_ key: Key) -> Bool { lookup(key) != nil }
    func decodeNil(forKey key: Key) throws -> Bool { tape.entries[try value(key)].kind == .null }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { let v = try value(key); return try decoder.decodeBool(at: v, path: child(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { let v = try value(key); return try decoder.decodeString(at: v, path: child(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { let v = try value(key); return try decoder.decodeDouble(at: v, path: child(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { let v = try value(key); return try decoder.decodeFloat(at: v, path: child(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    private func integer<T: FixedWidthInteger>(_ key: Key) throws -> T {
        let v = try value(key)
        return try decoder.decodeInteger(at: v, path: child(key))
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let v = try value(key)
        return try decoder.decodeValue(T.self, at: v, path: child(key))
    }

    // One lookup instead of the default's three (contains, decodeNil, decode).
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let v = lookup(key), tape.entries[v].kind != .null else { return nil }
        return try decoder.decodeString(at: v, path: child(key))
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let v = lookup(key), tape.entries[v].kind != .null else { return nil }
        return try decoder.decodeBool(at: v, path: child(key))
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let v = lookup(key), tape.entries[v].kind != .null else { return nil }
        return try decoder.decodeInteger(at: v, path: child(key))
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let v = lookup(key), tape.entries[v].kind != .null else { return nil }
        return try decoder.decodeDouble(at: v, path: child(key))
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = lookup(key), tape.entries[v].kind != .null else { return nil }
        return try decoder.decodeValue(T.self, at: v, path: child(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONTapeDecoder(tape: tape, index: try value(key), path: child(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONTapeDecoder(tape: tape, index: try value(key), path: child(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard let v = table?[JSONKey.super.stringValue] ?? lookupName(JSONKey.super.stringValue) else {
            throw DecodingError.keyNotFound(JSONKey.super, .init(codingPath: codingPath, debugDescription: "No value associated with key super."))
        }
        return JSONTapeDecoder(tape: tape, index: v, path: JSONCodingPath(parent: path, key: .super))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONTapeDecoder(tape: tape, index: try value(key), path: child(key))
    }

    private func lookupName(_ name: String) -> Int? {
        var i = object + 1
        for _ in 0..<Int(tape.entries[object].count) {
            if tape.string(at: i, equals: name) { return i + 1 }
            i = Int(tape.entries[i + 1].next)
        }
        return nil
    }
}

/// An array's elements, read in order.
struct JSONUnkeyedDecoding: UnkeyedDecodingContainer {
    let tape: JSONTape
    let array: Int
    let path: JSONCodingPath?
    private(set) var currentIndex = 0
    /// The tape index of the element at `currentIndex`.
    private var position: Int

    init(tape: JSONTape, array: Int, path: JSONCodingPath?) {
        self.tape = tape
        self.array = array
        self.path = path
        position = array + 1
    }

    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }
    var count: Int? { Int(tape.entries[array].count) }
    var isAtEnd: Bool { currentIndex >= Int(tape.entries[array].count) }

    private var decoder: JSONTapeDecoder { JSONTapeDecoder(tape: tape, index: array, path: path) }
    private var child: JSONCodingPath { JSONCodingPath(parent: path, key: JSONKey(intValue: currentIndex)) }

    /// The next element's tape index, or an error at the end.
    private func next<T>(_ type: T.Type) throws -> Int {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: JSONCodingPath.keys(child), debugDescription: "Unkeyed container is at end."))
        }
        return position
    }

    private mutating func advance() {
        position = Int(tape.entries[position].next)
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        let i = try next(Never.self)
        guard tape.entries[i].kind == .null else { return false }
        advance()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let v = try decoder.decodeBool(at: try next(type), path: child); advance(); return v }
    mutating func decode(_ type: String.Type) throws -> String { let v = try decoder.decodeString(at: try next(type), path: child); advance(); return v }
    mutating func decode(_ type: Double.Type) throws -> Double { let v = try decoder.decodeDouble(at: try next(type), path: child); advance(); return v }
    mutating func decode(_ type: Float.Type) throws -> Float { let v = try decoder.decodeFloat(at: try next(type), path: child); advance(); return v }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer() }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    private mutating func integer<T: FixedWidthInteger>() throws -> T {
        let v: T = try decoder.decodeInteger(at: try next(T.self), path: child)
        advance()
        return v
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let v = try decoder.decodeValue(T.self, at: try next(type), path: child)
        advance()
        return v
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let c = try JSONTapeDecoder(tape: tape, index: try next(type), path: child).container(keyedBy: type)
        advance()
        return c
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let c = try JSONTapeDecoder(tape: tape, index: try next([Any].self), path: child).unkeyedContainer()
        advance()
        return c
    }

    mutating func superDecoder() throws -> any Decoder {
        let d = JSONTapeDecoder(tape: tape, index: try next((any Decoder).self), path: child)
        advance()
        return d
    }
}
