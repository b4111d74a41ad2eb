import Foundation

/// Learns a model's fields by decoding one from placeholders: a decoder that answers every request
/// with a placeholder (0, "", false, empty containers) and notes, for each top-level key, which kind
/// of value was asked for and whether it was asked for as optional (`decodeIfPresent` asks `decodeNil`).
/// A field whose type rejects every placeholder (a validating init) is still learnt when the type is
/// `CaseIterable` (its first case stands in); otherwise the probe fails with the decoding error.
enum ModelSchemaProbe {
    /// The fields of `type` in decoding order: name, kind, optional.
    static func fields<M: Decodable>(of type: M.Type) throws -> [(name: String, kind: ModelFieldKind, optional: Bool)] {
        let recorder = TopLevel()
        _ = try M(from: ProbeDecoder(top: recorder, kind: nil, codingPath: []))
        return recorder.fields.map { ($0.name, $0.kind, recorder.optional.contains($0.name)) }
    }

    /// What the top-level keyed container saw.
    final class TopLevel {
        var fields: [(name: String, kind: ModelFieldKind)] = []
        var optional: Set<String> = []
        func record(_ name: String, _ kind: ModelFieldKind) {
            if !fields.contains(where: { $0.name == name }) { fields.append((name, kind)) }
        }
    }

    /// The kind of the one value a nested decoder decoded.
    final class KindBox {
        var kind: ModelFieldKind?
        func note(_ kind: ModelFieldKind) { if self.kind == nil { self.kind = kind } }
    }

    static func kind<T>(of type: T.Type) -> ModelFieldKind? {
        switch type {
        case is String.Type, is Character.Type: return .string
        case is Bool.Type: return .bool
        case is Double.Type, is Float.Type: return .double
        case is Int.Type, is Int8.Type, is Int16.Type, is Int32.Type, is Int64.Type,
             is UInt.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type: return .int
        case is Date.Type: return .double  // seconds since 2001, as Codable writes it
        case is UUID.Type, is URL.Type, is Data.Type: return .string  // text; Data as base64
        default: return nil
        }
    }

    static func placeholder<T>(_ type: T.Type) -> T? {
        switch type {
        case is String.Type: return "" as? T
        case is Bool.Type: return false as? T
        case is Double.Type: return 0.0 as? T
        case is Float.Type: return Float(0) as? T
        case is Int.Type: return 0 as? T
        case is Int8.Type: return Int8(0) as? T
        case is Int16.Type: return Int16(0) as? T
        case is Int32.Type: return Int32(0) as? T
        case is Int64.Type: return Int64(0) as? T
        case is UInt.Type: return UInt(0) as? T
        case is UInt8.Type: return UInt8(0) as? T
        case is UInt16.Type: return UInt16(0) as? T
        case is UInt32.Type: return UInt32(0) as? T
        case is UInt64.Type: return UInt64(0) as? T
        case is Date.Type: return Date(timeIntervalSinceReferenceDate: 0) as? T
        case is UUID.Type: return UUID() as? T
        case is URL.Type: return URL(string: "about:blank") as? T
        case is Data.Type: return Data() as? T
        default: return nil
        }
    }

    /// A value of `type` decoded from placeholders, and the kind of value it asked for.
    static func value<T: Decodable>(_ type: T.Type, codingPath: [any CodingKey]) throws -> (T, ModelFieldKind) {
        if let kind = kind(of: type), let value = placeholder(type) { return (value, kind) }
        let box = KindBox()
        do {
            let value = try T(from: ProbeDecoder(top: nil, kind: box, codingPath: codingPath))
            return (value, box.kind ?? .json)
        } catch {
            if let cases = type as? any CaseIterable.Type, let first = firstCase(cases) as? T { return (first, box.kind ?? .json) }
            throw error
        }
    }

    private static func firstCase<C: CaseIterable>(_ type: C.Type) -> Any? { type.allCases.first }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
    }

    struct ProbeDecoder: Decoder {
        let top: TopLevel?
        let kind: KindBox?
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            kind?.note(.json)
            return KeyedDecodingContainer(Keyed<Key>(top: top, codingPath: codingPath))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            kind?.note(.json)
            return Unkeyed(codingPath: codingPath)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer {
            Single(kind: kind, codingPath: codingPath)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let top: TopLevel?
        var codingPath: [any CodingKey]
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { true }

        func decodeNil(forKey key: Key) throws -> Bool {
            top?.optional.insert(key.stringValue)
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let (value, kind) = try ModelSchemaProbe.value(type, codingPath: codingPath + [key])
            top?.record(key.stringValue, kind)
            return value
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            top?.record(key.stringValue, .json)
            return KeyedDecodingContainer(Keyed<NestedKey>(top: nil, codingPath: codingPath + [key]))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            top?.record(key.stringValue, .json)
            return Unkeyed(codingPath: codingPath + [key])
        }

        func superDecoder() throws -> any Decoder { ProbeDecoder(top: top, kind: nil, codingPath: codingPath) }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            top?.record(key.stringValue, .json)
            return ProbeDecoder(top: nil, kind: KindBox(), codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        var codingPath: [any CodingKey]
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }

        mutating func decodeNil() throws -> Bool { true }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "placeholder arrays are empty"))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            KeyedDecodingContainer(Keyed<NestedKey>(top: nil, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { Unkeyed(codingPath: codingPath) }

        mutating func superDecoder() throws -> any Decoder { ProbeDecoder(top: nil, kind: KindBox(), codingPath: codingPath) }
    }

    struct Single: SingleValueDecodingContainer {
        let kind: KindBox?
        var codingPath: [any CodingKey]

        func decodeNil() -> Bool { false }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (value, found) = try ModelSchemaProbe.value(type, codingPath: codingPath)
            kind?.note(found)
            return value
        }
    }
}
