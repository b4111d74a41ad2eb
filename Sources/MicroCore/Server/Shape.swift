import Foundation
import NIOCore
import SwiftProtobuf

/// Describes a message type as go-micro's registry `Value` tree, so `micro describe` can show
/// request and response shapes. Codable types are explored by decoding them with a recording decoder.
package enum Shape {
    /// The shape of a message type (depth-bounded; recursive types stop at the bound).
    package static func of<T>(_ type: T.Type) -> Value {
        let name = String(describing: T.self)
        if T.self == ByteBuffer.self || T.self == [UInt8].self { return Value(name: name, type: "bytes") }
        if let m = T.self as? any SwiftProtobuf.Message.Type { return Value(name: name, type: m.protoMessageName) }
        guard let decodable = T.self as? any Decodable.Type else { return Value(name: name, type: name) }
        let recorder = ShapeRecorder(depth: 0)
        _ = try? decodable.init(from: recorder)
        return Value(name: name, type: name, values: recorder.fields.values)
    }
}

final class FieldList: @unchecked Sendable {
    var values: [Value] = []
    func add(_ v: Value) { if !values.contains(where: { $0.name == v.name }) { values.append(v) } }
}

struct ShapeStop: Error {}

/// A decoder that answers every request with a neutral value and records what was asked.
struct ShapeRecorder: Swift.Decoder {
    let depth: Int
    let fields = FieldList()
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    static let maxDepth = 6

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard depth < Self.maxDepth else { throw ShapeStop() }
        return KeyedDecodingContainer(Keyed<Key>(recorder: self))
    }
    /// An empty list, so an array field decodes (as `[]`) and the fields after it are still recorded.
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { EmptyUnkeyed() }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw ShapeStop() }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "string"
        case is Bool.Type: return "bool"
        case is Int.Type, is Int64.Type: return "int64"
        case is Int32.Type: return "int32"
        case is UInt.Type, is UInt64.Type: return "uint64"
        case is UInt32.Type: return "uint32"
        case is Double.Type: return "float64"
        case is Float.Type: return "float32"
        default: return String(describing: t)
        }
    }

    static func neutral<T: Decodable>(_ type: T.Type, depth: Int, into fields: FieldList, name: String) throws -> T {
        let v: Any? = switch type {
        case is String.Type: ""
        case is Bool.Type: false
        case is Int.Type: 0 as Int
        case is Int64.Type: 0 as Int64
        case is Int32.Type: 0 as Int32
        case is UInt.Type: 0 as UInt
        case is UInt64.Type: 0 as UInt64
        case is UInt32.Type: 0 as UInt32
        case is Double.Type: 0 as Double
        case is Float.Type: 0 as Float
        default: nil
        }
        if let v = v as? T {
            fields.add(Value(name: name, type: typeName(type)))
            return v
        }
        let nested = ShapeRecorder(depth: depth + 1)
        defer { fields.add(Value(name: name, type: String(describing: type), values: nested.fields.values)) }
        return try T(from: nested)
    }

    struct EmptyUnkeyed: UnkeyedDecodingContainer {
        var codingPath: [any CodingKey] { [] }
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }
        mutating func decodeNil() throws -> Bool { throw ShapeStop() }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw ShapeStop() }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> { throw ShapeStop() }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw ShapeStop() }
        mutating func superDecoder() throws -> any Swift.Decoder { throw ShapeStop() }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let recorder: ShapeRecorder
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try ShapeRecorder.neutral(type, depth: recorder.depth, into: recorder.fields, name: key.stringValue)
        }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            try? ShapeRecorder.neutral(type, depth: recorder.depth, into: recorder.fields, name: key.stringValue)
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> { throw ShapeStop() }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw ShapeStop() }
        func superDecoder() throws -> any Swift.Decoder { throw ShapeStop() }
        func superDecoder(forKey key: Key) throws -> any Swift.Decoder { throw ShapeStop() }
    }
}
