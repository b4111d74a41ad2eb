import Foundation

/// Binary protobuf → JSON through descriptors (proto3's JSON mapping, as `grpcurl` prints it but on
/// one line): fields in declaration order under their JSON names; fields without presence left out
/// when they hold their default; 64-bit integers as strings; enums by name (numbers when unknown);
/// bytes as standard base64; map keys sorted; the well-known types in their special forms.
///
/// Input from a peer is untrusted: truncated varints, wrong wire types, lengths past the end,
/// invalid UTF-8 and nesting past `maxDepth` are `ProtoTranscodingError`s, never a trap.
package struct ProtoJSONDecoder: Sendable {
    /// The descriptors messages are looked up in.
    package let index: ProtoDescriptorIndex
    /// How deep messages may nest.
    package var maxDepth: Int

    /// A decoder for the messages of `index`.
    package init(index: ProtoDescriptorIndex, maxDepth: Int = 100) {
        self.index = index
        self.maxDepth = maxDepth
    }

    /// The JSON text of `bytes`, a message of type `messageType` (a full name).
    package func decode(_ bytes: [UInt8], as messageType: String) throws(ProtoTranscodingError) -> String {
        var out = ""
        try message(bytes[...], ProtoDescriptorIndex.trimmed(messageType), path: "", depth: 0, into: &out)
        return out
    }

    /// A field value as it was on the wire.
    enum Raw {
        case varint(UInt64), fixed32(UInt32), fixed64(UInt64), bytes(ArraySlice<UInt8>)
    }

    // MARK: Messages

    func message(_ bytes: ArraySlice<UInt8>, _ type: String, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) {
        guard depth < maxDepth else { throw ProtoTranscodingError(.tooDeep, path: path, "messages nest deeper than \(maxDepth) levels") }
        if try wellKnown(bytes, type, path: path, depth: depth, into: &out) { return }
        guard let m = index.message(type) else { throw ProtoTranscodingError(.unknownType, path: path, "unknown message type \(type)") }
        var values = [[Raw]](repeating: [], count: m.fields.count)
        var lastSeen = [Int](repeating: -1, count: m.fields.count)
        var reader = ProtoWireReader(bytes, path: path)
        var counter = 0
        while !reader.isAtEnd {
            let (number, wire) = try reader.tag()
            guard let fi = m.byNumber[number] else {
                try reader.skip(wire, number: number, depth: maxDepth - depth)
                continue
            }
            let f = m.fields[fi]
            let fieldPath = path.isEmpty ? f.jsonName : "\(path).\(f.jsonName)"
            let natural = Self.wireType(f.type)
            counter += 1
            lastSeen[fi] = counter
            if wire == 2, natural != 2, f.repeated {
                // A packed run of scalars.
                var packed = ProtoWireReader(try reader.lengthDelimited(), path: fieldPath)
                while !packed.isAtEnd { values[fi].append(try Self.read(natural, &packed)) }
                continue
            }
            guard wire == natural else {
                throw ProtoTranscodingError(.malformedProtobuf, path: fieldPath,
                                            "malformed protobuf: field \(f.name) (\(number)) has wire type \(wire), expected \(natural)")
            }
            let raw = try Self.read(wire, &reader)
            if f.repeated {
                values[fi].append(raw)
            } else if f.type == .message, case .bytes(let b) = raw, case .bytes(let previous)? = values[fi].last {
                // A message field sent twice merges: parsing the concatenation does exactly that.
                values[fi] = [.bytes(ArraySlice(Array(previous) + Array(b)))]
            } else {
                values[fi] = [raw]
            }
        }
        // Of a oneof's members only the last one sent counts.
        var oneofWinner: [Int: Int] = [:]
        for (fi, f) in m.fields.enumerated() where !values[fi].isEmpty {
            guard let o = f.oneof else { continue }
            if let w = oneofWinner[o], lastSeen[w] > lastSeen[fi] { continue }
            oneofWinner[o] = fi
        }
        out += "{"
        var first = true
        for (fi, f) in m.fields.enumerated() where !values[fi].isEmpty {
            if let o = f.oneof, oneofWinner[o] != fi { continue }
            let fieldPath = path.isEmpty ? f.jsonName : "\(path).\(f.jsonName)"
            var text = ""
            if f.repeated {
                if let entry = index.message(f.typeName), entry.isMapEntry {
                    try map(values[fi], entry, path: fieldPath, depth: depth, into: &text)
                } else {
                    text += "["
                    for (k, raw) in values[fi].enumerated() {
                        if k > 0 { text += "," }
                        try value(raw, f, path: "\(fieldPath)[\(k)]", depth: depth, into: &text)
                    }
                    text += "]"
                }
            } else {
                let raw = values[fi][0]
                if !f.hasPresence, Self.isDefault(raw) { continue }
                try value(raw, f, path: fieldPath, depth: depth, into: &text)
            }
            out += first ? "" : ","
            first = false
            out += Self.quoted(f.jsonName) + ":" + text
        }
        out += "}"
    }

    private func map(_ entries: [Raw], _ entry: ProtoDescriptorIndex.Message, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) {
        guard let keyField = entry.byNumber[1].map({ entry.fields[$0] }), let valueField = entry.byNumber[2].map({ entry.fields[$0] }) else {
            throw ProtoTranscodingError(.unknownType, path: path, "map entry \(entry.fullName) lacks its key or value")
        }
        guard depth + 1 < maxDepth else { throw ProtoTranscodingError(.tooDeep, path: path, "messages nest deeper than \(maxDepth) levels") }
        var byKey: [ProtoJSONEncoder.MapKey: (key: String, value: String)] = [:]
        for raw in entries {
            guard case .bytes(let b) = raw else { continue }
            var key: Raw?, value: Raw?
            var reader = ProtoWireReader(b, path: path)
            while !reader.isAtEnd {
                let (number, wire) = try reader.tag()
                let f: ProtoDescriptorIndex.Field
                switch number {
                case 1: f = keyField
                case 2: f = valueField
                default:
                    try reader.skip(wire, number: number, depth: maxDepth - depth)
                    continue
                }
                guard wire == Self.wireType(f.type) else {
                    throw ProtoTranscodingError(.malformedProtobuf, path: path, "malformed protobuf: map \(number == 1 ? "key" : "value") has wire type \(wire)")
                }
                let r = try Self.read(wire, &reader)
                if number == 1 { key = r } else { value = r }
            }
            let k = key ?? Self.defaultRaw(keyField.type)
            let (typed, text) = try Self.mapKey(k, keyField, path: path)
            var v = ""
            try self.value(value ?? Self.defaultRaw(valueField.type), valueField, path: "\(path)[\(text)]", depth: depth + 1, into: &v)
            byKey[typed] = (text, v)
        }
        out += "{"
        for (n, (_, kv)) in byKey.sorted(by: { $0.key < $1.key }).enumerated() {
            out += (n > 0 ? "," : "") + Self.quoted(kv.key) + ":" + kv.value
        }
        out += "}"
    }

    private func value(_ raw: Raw, _ f: ProtoDescriptorIndex.Field, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) {
        switch (f.type, raw) {
        case (.message, .bytes(let b)):
            try message(b, f.typeName, path: path, depth: depth + 1, into: &out)
        case (.enum, .varint(let v)):
            let n = Int32(truncatingIfNeeded: v)
            if let name = index.enumType(f.typeName)?.byNumber[n] { out += Self.quoted(name) } else { out += String(n) }
        case (.group, _):
            throw ProtoTranscodingError(.unsupported, path: path, "proto2 groups are not supported (field \(f.name))")
        default:
            out += try Self.scalar(raw, f.type, path: path)
        }
    }

    // MARK: Scalars

    static func wireType(_ type: ProtoDescriptorIndex.FieldType) -> UInt64 {
        switch type {
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .bool, .enum: return 0
        case .fixed64, .sfixed64, .double: return 1
        case .fixed32, .sfixed32, .float: return 5
        case .group: return 3
        default: return 2
        }
    }

    static func read(_ wire: UInt64, _ reader: inout ProtoWireReader) throws(ProtoTranscodingError) -> Raw {
        switch wire {
        case 0: return .varint(try reader.varint())
        case 1: return .fixed64(try reader.fixed64())
        case 5: return .fixed32(try reader.fixed32())
        case 2: return .bytes(try reader.lengthDelimited())
        default: throw ProtoTranscodingError(.unsupported, path: reader.path, "proto2 groups are not supported")
        }
    }

    static func isDefault(_ raw: Raw) -> Bool {
        switch raw {
        case .varint(let v): return v == 0
        case .fixed32(let v): return v == 0
        case .fixed64(let v): return v == 0
        case .bytes(let b): return b.isEmpty
        }
    }

    static func defaultRaw(_ type: ProtoDescriptorIndex.FieldType) -> Raw {
        switch wireType(type) {
        case 0: return .varint(0)
        case 1: return .fixed64(0)
        case 5: return .fixed32(0)
        default: return .bytes([])
        }
    }

    /// A scalar's JSON text.
    static func scalar(_ raw: Raw, _ type: ProtoDescriptorIndex.FieldType, path: String) throws(ProtoTranscodingError) -> String {
        switch (type, raw) {
        case (.int32, .varint(let v)): return String(Int32(truncatingIfNeeded: v))
        case (.int64, .varint(let v)): return "\"\(Int64(bitPattern: v))\""
        case (.uint32, .varint(let v)): return String(UInt32(truncatingIfNeeded: v))
        case (.uint64, .varint(let v)): return "\"\(v)\""
        case (.sint32, .varint(let v)):
            let u = UInt32(truncatingIfNeeded: v)
            return String(Int32(bitPattern: u >> 1) ^ -Int32(bitPattern: u & 1))
        case (.sint64, .varint(let v)): return "\"\(Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1))\""
        case (.bool, .varint(let v)): return v != 0 ? "true" : "false"
        case (.fixed32, .fixed32(let v)): return String(v)
        case (.sfixed32, .fixed32(let v)): return String(Int32(bitPattern: v))
        case (.float, .fixed32(let v)): return number(Double(Float(bitPattern: v)), float: Float(bitPattern: v))
        case (.fixed64, .fixed64(let v)): return "\"\(v)\""
        case (.sfixed64, .fixed64(let v)): return "\"\(Int64(bitPattern: v))\""
        case (.double, .fixed64(let v)): return number(Double(bitPattern: v), float: nil)
        case (.string, .bytes(let b)):
            guard let s = String(validating: b, as: UTF8.self) else {
                throw ProtoTranscodingError(.malformedProtobuf, path: path, "malformed protobuf: a string that is not UTF-8")
            }
            return quoted(s)
        case (.bytes, .bytes(let b)): return "\"\(Data(b).base64EncodedString())\""
        default:
            throw ProtoTranscodingError(.malformedProtobuf, path: path, "malformed protobuf: a \(type) field with the wrong wire type")
        }
    }

    /// A float or double as JSON: integral values without a fraction, NaN and the infinities as strings.
    static func number(_ d: Double, float: Float?) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int64(d)) }
        return float.map { "\($0)" } ?? "\(d)"
    }

    /// A map key's typed value (for ordering) and its JSON text.
    static func mapKey(_ raw: Raw, _ f: ProtoDescriptorIndex.Field, path: String) throws(ProtoTranscodingError) -> (ProtoJSONEncoder.MapKey, String) {
        let text = try scalar(raw, f.type, path: path)
        let bare = text.hasPrefix("\"") ? String(text.dropFirst().dropLast()) : text
        switch f.type {
        case .string:
            guard case .bytes(let b) = raw, let s = String(validating: b, as: UTF8.self) else { return (.string(bare), bare) }
            return (.string(s), s)
        case .bool: return (.bool(bare == "true"), bare)
        case .int32, .int64, .sint32, .sint64, .sfixed32, .sfixed64: return (.signed(Int64(bare) ?? 0), bare)
        default: return (.unsigned(UInt64(bare) ?? 0), bare)
        }
    }

    /// `s` as a JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
