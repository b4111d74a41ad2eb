import Configuration
import MicroCore

/// Decodes a `Decodable` value from the keys under a path of a swift-configuration snapshot, so a
/// Codable section reads through every provider in their declared order (a command-line or
/// environment value overrides the one from a file or etcd).
///
/// Keys map to nested config keys (`greeter.greeting` for `GreeterSettings.greeting` at `greeter`);
/// scalars read as strings, integers, doubles and booleans; arrays as arrays of one scalar type.
/// Dictionaries and arrays of objects cannot be read key by key and are not supported. A missing
/// key is `DecodingError.keyNotFound`, a value of another type `DecodingError.typeMismatch`.
struct ConfigSectionDecoder: Decoder {
    let reader: ConfigSnapshotReader
    let path: [String]
    let found: FoundCounter
    /// Reads missing values as zero values instead of failing, to count what is present of a section.
    let probing: Bool
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Counts values read, so an optional nested section tells "absent" from "present but invalid".
    final class FoundCounter {
        var count = 0
    }

    init(reader: ConfigSnapshotReader, path: [String], found: FoundCounter = FoundCounter(), probing: Bool = false, codingPath: [any CodingKey] = []) {
        self.reader = reader
        self.path = path
        self.found = found
        self.probing = probing
        self.codingPath = codingPath
    }

    /// Whether any value of `type`'s fields is present under ``path`` (a probe that reads missing
    /// values as zero values and counts the present ones).
    func anyPresent<T: Decodable>(_ type: T.Type) -> Bool {
        let probe = ConfigSectionDecoder(reader: reader, path: path, probing: true, codingPath: codingPath)
        _ = try? T(from: probe)
        return probe.found.count > 0
    }

    /// Decodes `type` at `path`; throws ``ConfigError/Code/notFound`` when nothing of it is there.
    static func decode<T: Decodable>(_ type: T.Type, from reader: ConfigSnapshotReader, at path: [String]) throws -> T {
        let decoder = ConfigSectionDecoder(reader: reader, path: path)
        do {
            return try T(from: decoder)
        } catch let error as DecodingError where error.isNotFound && !decoder.anyPresent(T.self) {
            throw ConfigError(.notFound, "nothing at '\(path.joined(separator: "."))'")
        }
    }

    func child(_ key: any CodingKey) -> ConfigSectionDecoder {
        ConfigSectionDecoder(reader: reader, path: path + [key.stringValue], found: found, probing: probing, codingPath: codingPath + [key])
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try Unkeyed(decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(decoder: self)
    }

    // MARK: Reading

    var key: ConfigKey { ConfigKey(path) }

    /// True when some scalar or array is at ``path``.
    var isPresent: Bool {
        let key = self.key
        return reader.string(forKey: key) != nil || reader.int(forKey: key) != nil || reader.double(forKey: key) != nil
            || reader.bool(forKey: key) != nil || reader.stringArray(forKey: key) != nil || reader.intArray(forKey: key) != nil
            || reader.doubleArray(forKey: key) != nil || reader.boolArray(forKey: key) != nil
    }

    func read<T>(_ type: T.Type, zero: T, _ get: (ConfigSnapshotReader, ConfigKey) throws -> T) throws -> T {
        do {
            let value = try get(reader, key)
            found.count += 1
            return value
        } catch {
            if isPresent {
                found.count += 1
                throw DecodingError.typeMismatch(T.self, .init(codingPath: codingPath, debugDescription: "'\(key)' is not a \(T.self)"))
            }
            if probing { return zero }
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "nothing at '\(key)'"))
        }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let value = try read(Int.self, zero: 0) { try $0.requiredInt(forKey: $1) }
        guard let exact = T(exactly: value) else {
            throw DecodingError.typeMismatch(T.self, .init(codingPath: codingPath, debugDescription: "\(value) at '\(key)' does not fit a \(T.self)"))
        }
        return exact
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is String.Type: return try read(String.self, zero: "") { try $0.requiredString(forKey: $1) } as! T
        case is Bool.Type: return try read(Bool.self, zero: false) { try $0.requiredBool(forKey: $1) } as! T
        case is Double.Type: return try read(Double.self, zero: 0) { try $0.requiredDouble(forKey: $1) } as! T
        case is Float.Type: return Float(try read(Double.self, zero: 0) { try $0.requiredDouble(forKey: $1) }) as! T
        case is Int.Type: return try integer(Int.self) as! T
        case is Int64.Type: return try integer(Int64.self) as! T
        case is Int32.Type: return try integer(Int32.self) as! T
        case is UInt.Type: return try integer(UInt.self) as! T
        case is UInt64.Type: return try integer(UInt64.self) as! T
        case is UInt32.Type: return try integer(UInt32.self) as! T
        case is Int16.Type: return try integer(Int16.self) as! T
        case is Int8.Type: return try integer(Int8.self) as! T
        case is UInt16.Type: return try integer(UInt16.self) as! T
        case is UInt8.Type: return try integer(UInt8.self) as! T
        default: return try T(from: self)
        }
    }

    // MARK: Containers

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: ConfigSectionDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        /// The keys under a path cannot be listed through a reader.
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { decoder.child(key).isPresent }
        func decodeNil(forKey key: Key) throws -> Bool { !decoder.child(key).isPresent }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decode(type, generic: key) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type as Bool.Type, generic: key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type as String.Type, generic: key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type as Double.Type, generic: key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type as Float.Type, generic: key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type as Int.Type, generic: key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type as Int8.Type, generic: key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type as Int16.Type, generic: key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type as Int32.Type, generic: key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type as Int64.Type, generic: key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type as UInt.Type, generic: key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type as UInt8.Type, generic: key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type as UInt16.Type, generic: key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type as UInt32.Type, generic: key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type as UInt64.Type, generic: key) }

        private func decode<T: Decodable>(_ type: T.Type, generic key: Key) throws -> T {
            do {
                return try decoder.child(key).decodeValue(T.self)
            } catch DecodingError.valueNotFound(_, let context) {
                throw DecodingError.keyNotFound(key, context)
            }
        }

        /// Present when a value at the key (or, for a nested section, any value under it) is found: a
        /// nested section that is partly there fails as a whole.
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            do {
                return try decode(T.self, forKey: key)
            } catch let error as DecodingError where error.isNotFound {
                if decoder.probing || decoder.child(key).anyPresent(T.self) { throw error }
                return nil
            }
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try decoder.child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try decoder.child(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(key) }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: ConfigSectionDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool { !decoder.isPresent }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self) }
        func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeValue(type) }
        func decode(_ type: String.Type) throws -> String { try decoder.decodeValue(type) }
        func decode(_ type: Double.Type) throws -> Double { try decoder.decodeValue(type) }
        func decode(_ type: Float.Type) throws -> Float { try decoder.decodeValue(type) }
        func decode(_ type: Int.Type) throws -> Int { try decoder.decodeValue(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decoder.decodeValue(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decoder.decodeValue(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decoder.decodeValue(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decoder.decodeValue(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try decoder.decodeValue(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.decodeValue(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.decodeValue(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.decodeValue(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.decodeValue(type) }
    }

    /// An array of one scalar type: the array is read whole, as the type of its first decoded element.
    struct Unkeyed: UnkeyedDecodingContainer {
        let decoder: ConfigSectionDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        let count: Int?
        var currentIndex = 0
        var isAtEnd: Bool { currentIndex >= (count ?? 0) }
        private var elements: [any Sendable]?

        init(decoder: ConfigSectionDecoder) throws {
            self.decoder = decoder
            let key = decoder.key
            let reader = decoder.reader
            let counted = reader.stringArray(forKey: key)?.count ?? reader.intArray(forKey: key)?.count
                ?? reader.doubleArray(forKey: key)?.count ?? reader.boolArray(forKey: key)?.count
            guard let counted else {
                if decoder.isPresent {
                    decoder.found.count += 1
                    throw DecodingError.typeMismatch([Any].self, .init(codingPath: decoder.codingPath, debugDescription: "'\(key)' is not an array of scalars"))
                }
                if decoder.probing {
                    count = 0
                    return
                }
                throw DecodingError.valueNotFound([Any].self, .init(codingPath: decoder.codingPath, debugDescription: "nothing at '\(key)'"))
            }
            decoder.found.count += 1
            count = counted
        }

        mutating func decodeNil() throws -> Bool { false }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try element(type) }
        mutating func decode(_ type: Bool.Type) throws -> Bool { try element(type) }
        mutating func decode(_ type: String.Type) throws -> String { try element(type) }
        mutating func decode(_ type: Double.Type) throws -> Double { try element(type) }
        mutating func decode(_ type: Float.Type) throws -> Float { try element(type) }
        mutating func decode(_ type: Int.Type) throws -> Int { try element(type) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try element(type) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try element(type) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try element(type) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try element(type) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try element(type) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try element(type) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try element(type) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try element(type) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try element(type) }

        private mutating func element<T: Decodable>(_ type: T.Type) throws -> T {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "past the end of '\(decoder.key)'"))
            }
            if elements == nil { elements = try read(T.self) }
            guard let value = elements![currentIndex] as? T else {
                throw DecodingError.typeMismatch(T.self, .init(codingPath: codingPath, debugDescription: "'\(decoder.key)' holds elements of another type"))
            }
            currentIndex += 1
            return value
        }

        private func read<T>(_ type: T.Type) throws -> [any Sendable] {
            let key = decoder.key
            let reader = decoder.reader
            let values: [any Sendable]?
            switch type {
            case is String.Type: values = reader.stringArray(forKey: key)
            case is Int.Type: values = reader.intArray(forKey: key)
            case is Double.Type: values = reader.doubleArray(forKey: key)
            case is Bool.Type: values = reader.boolArray(forKey: key)
            default:
                throw DecodingError.typeMismatch(T.self, .init(codingPath: codingPath, debugDescription: "'\(key)': only arrays of strings, integers, doubles and booleans can be read"))
            }
            guard let values, values.count == count else {
                throw DecodingError.typeMismatch([T].self, .init(codingPath: codingPath, debugDescription: "'\(key)' is not an array of \(T.self)"))
            }
            return values
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "arrays of objects cannot be read from configuration"))
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "arrays of arrays cannot be read from configuration"))
        }

        mutating func superDecoder() throws -> any Decoder { decoder }
    }
}

extension DecodingError {
    /// A key or value that is not there (as opposed to one of the wrong type).
    var isNotFound: Bool {
        switch self {
        case .keyNotFound, .valueNotFound: return true
        default: return false
        }
    }
}
