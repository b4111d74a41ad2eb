import Foundation

/// JSON → binary protobuf through descriptors (proto3's JSON mapping): fields by JSON name
/// (lowerCamelCase) or proto name; 64-bit integers as numbers or strings; enums by name or number;
/// bytes as base64 (standard or URL-safe); repeated fields, maps, oneofs; and the well-known types
/// Timestamp, Duration, the wrappers, Struct / Value / ListValue, FieldMask and Empty.
///
/// The bytes equal SwiftProtobuf's deterministic serialization of the same message (fields by
/// number, map entries by key). Every problem is a `ProtoTranscodingError` naming the field.
package struct ProtoJSONEncoder: Sendable {
    /// The descriptors messages are looked up in.
    package let index: ProtoDescriptorIndex
    /// How deep messages (and JSON) may nest.
    package var maxDepth: Int

    /// An encoder for the messages of `index`.
    package init(index: ProtoDescriptorIndex, maxDepth: Int = 100) {
        self.index = index
        self.maxDepth = maxDepth
    }

    /// The binary encoding of the message `json` describes, of type `messageType` (a full name).
    package func encode(json: String, as messageType: String) throws(ProtoTranscodingError) -> [UInt8] {
        let text = json.trimmingCharacters(in: .whitespacesAndNewlines)
        let value = try ProtoJSONParser.parse(text.isEmpty ? Array("{}".utf8) : Array(text.utf8), maxDepth: maxDepth + 1)
        return try message(value, ProtoDescriptorIndex.trimmed(messageType), path: "", depth: 0)
    }

    // MARK: Messages

    func message(_ v: ProtoJSONValue, _ type: String, path: String, depth: Int) throws(ProtoTranscodingError) -> [UInt8] {
        guard depth < maxDepth else { throw ProtoTranscodingError(.tooDeep, path: path, "messages nest deeper than \(maxDepth) levels") }
        if let wkt = try wellKnown(v, type, path: path, depth: depth) { return wkt }
        guard let m = index.message(type) else { throw ProtoTranscodingError(.unknownType, path: path, "unknown message type \(type)") }
        guard case .object(let members) = v else {
            throw ProtoTranscodingError(.wrongType, path: path, "expected an object for \(type), got \(v.kind)")
        }
        var encoded: [Int: [UInt8]] = [:]
        var seen = Set<Int>()
        var oneofs: [Int: String] = [:]
        for (key, value) in members {
            guard let fi = m.byName[key] else {
                throw ProtoTranscodingError(.unknownField, path: path, "unknown field \"\(key)\" in \(type)")
            }
            let f = m.fields[fi]
            let fieldPath = path.isEmpty ? f.jsonName : "\(path).\(f.jsonName)"
            guard seen.insert(fi).inserted else {
                throw ProtoTranscodingError(.duplicateField, path: fieldPath, "field \(f.name) appears twice")
            }
            if case .null = value, f.typeName != "google.protobuf.Value" || f.repeated { continue }
            if let o = f.oneof {
                if let other = oneofs[o] {
                    throw ProtoTranscodingError(.duplicateField, path: fieldPath, "oneof \(m.oneofNames[o]) has both \(other) and \(f.name)")
                }
                oneofs[o] = f.name
            }
            encoded[fi] = try field(value, f, path: fieldPath, depth: depth)
        }
        var w = ProtoWireWriter()
        for fi in encoded.keys.sorted(by: { m.fields[$0].number < m.fields[$1].number }) { w.append(encoded[fi]!) }
        return w.bytes
    }

    private func field(_ v: ProtoJSONValue, _ f: ProtoDescriptorIndex.Field, path: String, depth: Int) throws(ProtoTranscodingError) -> [UInt8] {
        var w = ProtoWireWriter()
        guard f.repeated else {
            try single(v, f, number: f.number, always: f.hasPresence, path: path, depth: depth, into: &w)
            return w.bytes
        }
        if let entry = index.message(f.typeName), entry.isMapEntry {
            guard case .object(let members) = v else {
                throw ProtoTranscodingError(.wrongType, path: path, "expected an object for map field \(f.name), got \(v.kind)")
            }
            guard let keyField = entry.byNumber[1].map({ entry.fields[$0] }), let valueField = entry.byNumber[2].map({ entry.fields[$0] }) else {
                throw ProtoTranscodingError(.unknownType, path: path, "map entry \(entry.fullName) lacks its key or value")
            }
            var entries: [(key: MapKey, bytes: [UInt8])] = []
            var keys = Set<MapKey>()
            for (k, item) in members {
                let itemPath = "\(path)[\(k)]"
                let key = try mapKey(k, keyField, path: itemPath)
                guard keys.insert(key).inserted else { throw ProtoTranscodingError(.duplicateField, path: itemPath, "map key \(k) appears twice") }
                if case .null = item, valueField.typeName != "google.protobuf.Value" {
                    throw ProtoTranscodingError(.wrongType, path: itemPath, "a map value cannot be null")
                }
                var e = ProtoWireWriter()
                let keyValue: ProtoJSONValue = keyField.type == .bool ? .bool(k == "true") : .string(k)
                try single(keyValue, keyField, number: 1, always: true, path: itemPath, depth: depth, into: &e)
                try single(item, valueField, number: 2, always: true, path: itemPath, depth: depth, into: &e)
                entries.append((key, e.bytes))
            }
            for e in entries.sorted(by: { $0.key < $1.key }) {
                w.tag(f.number, .lengthDelimited)
                w.lengthDelimited(e.bytes)
            }
            return w.bytes
        }
        guard case .array(let items) = v else {
            throw ProtoTranscodingError(.wrongType, path: path, "expected an array for repeated field \(f.name), got \(v.kind)")
        }
        if f.packed {
            guard !items.isEmpty else { return [] }
            var packed = ProtoWireWriter()
            for (k, item) in items.enumerated() {
                switch try scalar(item, f, path: "\(path)[\(k)]") {
                case .varint(let x): packed.varint(x)
                case .fixed32(let x): packed.fixed32(x)
                case .fixed64(let x): packed.fixed64(x)
                case .bytes: throw ProtoTranscodingError(.unsupported, path: path, "packed field \(f.name) of length-delimited values")
                }
            }
            w.tag(f.number, .lengthDelimited)
            w.lengthDelimited(packed.bytes)
            return w.bytes
        }
        for (k, item) in items.enumerated() {
            let itemPath = "\(path)[\(k)]"
            if case .null = item, f.typeName != "google.protobuf.Value" {
                throw ProtoTranscodingError(.wrongType, path: itemPath, "a repeated element cannot be null")
            }
            try single(item, f, number: f.number, always: true, path: itemPath, depth: depth, into: &w)
        }
        return w.bytes
    }

    /// One value of field `f` under `number`; a default is left out unless `always`.
    private func single(_ v: ProtoJSONValue, _ f: ProtoDescriptorIndex.Field, number: Int, always: Bool, path: String, depth: Int,
                        into w: inout ProtoWireWriter) throws(ProtoTranscodingError) {
        if f.type == .message {
            let bytes = try message(v, f.typeName, path: path, depth: depth + 1)
            w.tag(number, .lengthDelimited)
            w.lengthDelimited(bytes)
            return
        }
        if f.type == .group { throw ProtoTranscodingError(.unsupported, path: path, "proto2 groups are not supported (field \(f.name))") }
        let s = try scalar(v, f, path: path)
        if !always, s.isDefault { return }
        switch s {
        case .varint(let x): w.tag(number, .varint); w.varint(x)
        case .fixed32(let x): w.tag(number, .fixed32); w.fixed32(x)
        case .fixed64(let x): w.tag(number, .fixed64); w.fixed64(x)
        case .bytes(let b): w.tag(number, .lengthDelimited); w.lengthDelimited(b)
        }
    }

    // MARK: Scalars

    enum Scalar {
        case varint(UInt64), fixed32(UInt32), fixed64(UInt64), bytes([UInt8])
        var isDefault: Bool {
            switch self {
            case .varint(let x): return x == 0
            case .fixed32(let x): return x == 0
            case .fixed64(let x): return x == 0
            case .bytes(let b): return b.isEmpty
            }
        }
    }

    private func scalar(_ v: ProtoJSONValue, _ f: ProtoDescriptorIndex.Field, path: String) throws(ProtoTranscodingError) -> Scalar {
        try Self.scalar(v, type: f.type, enumType: f.type == .enum ? index.enumType(f.typeName) : nil, enumName: f.typeName, path: path)
    }

    static func scalar(_ v: ProtoJSONValue, type: ProtoDescriptorIndex.FieldType, enumType: ProtoDescriptorIndex.Enum? = nil,
                       enumName: String = "", path: String) throws(ProtoTranscodingError) -> Scalar {
        switch type {
        case .int32: return .varint(UInt64(bitPattern: Int64(try signed(v, bits: 32, path: path))))
        case .int64: return .varint(UInt64(bitPattern: try signed(v, bits: 64, path: path)))
        case .sint32:
            let x = Int32(try signed(v, bits: 32, path: path))
            return .varint(UInt64(UInt32(bitPattern: (x << 1) ^ (x >> 31))))
        case .sint64:
            let x = try signed(v, bits: 64, path: path)
            return .varint(UInt64(bitPattern: (x << 1) ^ (x >> 63)))
        case .sfixed32: return .fixed32(UInt32(bitPattern: Int32(try signed(v, bits: 32, path: path))))
        case .sfixed64: return .fixed64(UInt64(bitPattern: try signed(v, bits: 64, path: path)))
        case .uint32: return .varint(try unsigned(v, bits: 32, path: path))
        case .uint64: return .varint(try unsigned(v, bits: 64, path: path))
        case .fixed32: return .fixed32(UInt32(try unsigned(v, bits: 32, path: path)))
        case .fixed64: return .fixed64(try unsigned(v, bits: 64, path: path))
        case .bool:
            guard case .bool(let b) = v else { throw wrong(v, "a boolean", path) }
            return .varint(b ? 1 : 0)
        case .float:
            let d = try floating(v, path: path)
            guard !d.isFinite || abs(d) <= Double(Float.greatestFiniteMagnitude) else {
                throw ProtoTranscodingError(.wrongType, path: path, "\(d) is out of range for a float")
            }
            return .fixed32(Float(d).bitPattern)
        case .double: return .fixed64(try floating(v, path: path).bitPattern)
        case .string:
            guard case .string(let s) = v else { throw wrong(v, "a string", path) }
            return .bytes(Array(s.utf8))
        case .bytes:
            guard case .string(let s) = v else { throw wrong(v, "a base64 string", path) }
            guard let data = base64(s) else { throw ProtoTranscodingError(.wrongType, path: path, "not base64: \"\(s)\"") }
            return .bytes(data)
        case .enum:
            switch v {
            case .string(let name):
                if let n = enumType?.byName[name] { return .varint(UInt64(bitPattern: Int64(n))) }
                throw ProtoTranscodingError(.wrongType, path: path, "unknown value \"\(name)\" of enum \(enumName)")
            case .number:
                return .varint(UInt64(bitPattern: Int64(try signed(v, bits: 32, path: path))))
            default: throw wrong(v, "an enum name or number", path)
            }
        default:
            throw ProtoTranscodingError(.unsupported, path: path, "field type \(type) is not a scalar")
        }
    }

    private static func wrong(_ v: ProtoJSONValue, _ expected: String, _ path: String) -> ProtoTranscodingError {
        ProtoTranscodingError(.wrongType, path: path, "expected \(expected), got \(v.kind)")
    }

    /// The text of an integer given as a JSON number or string.
    private static func numberText(_ v: ProtoJSONValue, _ path: String) throws(ProtoTranscodingError) -> String {
        switch v {
        case .number(let t): return t
        case .string(let t): return t
        default: throw wrong(v, "an integer", path)
        }
    }

    static func signed(_ v: ProtoJSONValue, bits: Int, path: String) throws(ProtoTranscodingError) -> Int64 {
        let text = try numberText(v, path)
        let (lo, hi): (Int64, Int64) = bits == 32 ? (Int64(Int32.min), Int64(Int32.max)) : (Int64.min, Int64.max)
        if let x = Int64(text) {
            guard x >= lo, x <= hi else { throw ProtoTranscodingError(.wrongType, path: path, "\(text) is out of range for int\(bits)") }
            return x
        }
        guard let d = Double(text), d.isFinite, d == d.rounded(), isNumeric(text) else {
            throw ProtoTranscodingError(.wrongType, path: path, "\(text) is not an integer")
        }
        guard d >= Double(lo), d < -Double(lo) else { throw ProtoTranscodingError(.wrongType, path: path, "\(text) is out of range for int\(bits)") }
        let x = Int64(d)
        guard x >= lo, x <= hi else { throw ProtoTranscodingError(.wrongType, path: path, "\(text) is out of range for int\(bits)") }
        return x
    }

    static func unsigned(_ v: ProtoJSONValue, bits: Int, path: String) throws(ProtoTranscodingError) -> UInt64 {
        let text = try numberText(v, path)
        let hi: UInt64 = bits == 32 ? UInt64(UInt32.max) : UInt64.max
        if let x = UInt64(text) {
            guard x <= hi else { throw ProtoTranscodingError(.wrongType, path: path, "\(text) is out of range for uint\(bits)") }
            return x
        }
        guard let d = Double(text), d.isFinite, d == d.rounded(), isNumeric(text) else {
            throw ProtoTranscodingError(.wrongType, path: path, "\(text) is not an unsigned integer")
        }
        guard d >= 0, d < 18_446_744_073_709_551_616.0, UInt64(d) <= hi else {
            throw ProtoTranscodingError(.wrongType, path: path, "\(text) is out of range for uint\(bits)")
        }
        return UInt64(d)
    }

    /// Whether `text` is a JSON-style number (Swift's `Double` also reads hex, `nan` and `inf`).
    private static func isNumeric(_ text: String) -> Bool {
        (try? ProtoJSONParser.parse(Array(text.utf8))).map { if case .number = $0 { return true } else { return false } } ?? false
    }

    static func floating(_ v: ProtoJSONValue, path: String) throws(ProtoTranscodingError) -> Double {
        switch v {
        case .number(let t):
            guard let d = Double(t), d.isFinite else { throw ProtoTranscodingError(.wrongType, path: path, "\(t) is out of range") }
            return d
        case .string(let t):
            switch t {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard isNumeric(t), let d = Double(t), d.isFinite else {
                    throw ProtoTranscodingError(.wrongType, path: path, "\"\(t)\" is not a number")
                }
                return d
            }
        default: throw wrong(v, "a number", path)
        }
    }

    static func base64(_ s: String) -> [UInt8]? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t).map { Array($0) }
    }

    // MARK: Map keys

    enum MapKey: Hashable, Comparable {
        case bool(Bool), signed(Int64), unsigned(UInt64), string(String)
        static func < (a: MapKey, b: MapKey) -> Bool {
            switch (a, b) {
            case (.bool(let x), .bool(let y)): return !x && y
            case (.signed(let x), .signed(let y)): return x < y
            case (.unsigned(let x), .unsigned(let y)): return x < y
            case (.string(let x), .string(let y)): return x < y
            default: return false
            }
        }
    }

    private func mapKey(_ k: String, _ f: ProtoDescriptorIndex.Field, path: String) throws(ProtoTranscodingError) -> MapKey {
        switch f.type {
        case .string: return .string(k)
        case .bool:
            switch k {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw ProtoTranscodingError(.wrongType, path: path, "map key \(k) is not true or false")
            }
        case .int32, .sint32, .sfixed32: return .signed(try Self.signed(.string(k), bits: 32, path: path))
        case .int64, .sint64, .sfixed64: return .signed(try Self.signed(.string(k), bits: 64, path: path))
        case .uint32, .fixed32: return .unsigned(try Self.unsigned(.string(k), bits: 32, path: path))
        case .uint64, .fixed64: return .unsigned(try Self.unsigned(.string(k), bits: 64, path: path))
        default: throw ProtoTranscodingError(.unsupported, path: path, "map keys of type \(f.type)")
        }
    }
}
