/// The well-known types' special JSON forms, JSON → binary.
extension ProtoJSONEncoder {
    static let wrapperTypes: [String: ProtoDescriptorIndex.FieldType] = [
        "google.protobuf.DoubleValue": .double, "google.protobuf.FloatValue": .float,
        "google.protobuf.Int64Value": .int64, "google.protobuf.UInt64Value": .uint64,
        "google.protobuf.Int32Value": .int32, "google.protobuf.UInt32Value": .uint32,
        "google.protobuf.BoolValue": .bool, "google.protobuf.StringValue": .string, "google.protobuf.BytesValue": .bytes,
    ]

    /// The encoding of a well-known type's JSON form; nil for any other type.
    func wellKnown(_ v: ProtoJSONValue, _ type: String, path: String, depth: Int) throws(ProtoTranscodingError) -> [UInt8]? {
        guard type.hasPrefix("google.protobuf.") else { return nil }
        var w = ProtoWireWriter()
        if let scalarType = Self.wrapperTypes[type] {
            let s = try Self.scalar(v, type: scalarType, path: path)
            if !s.isDefault { write(s, number: 1, into: &w) }
            return w.bytes
        }
        switch type {
        case "google.protobuf.Timestamp":
            guard case .string(let s) = v, let (seconds, nanos) = ProtoTime.parseTimestamp(s) else {
                throw ProtoTranscodingError(.wrongType, path: path, "expected an RFC 3339 timestamp such as \"2024-01-31T12:00:00Z\", got \(describe(v))")
            }
            writeSecondsNanos(seconds, nanos, into: &w)
        case "google.protobuf.Duration":
            guard case .string(let s) = v, let (seconds, nanos) = ProtoTime.parseDuration(s) else {
                throw ProtoTranscodingError(.wrongType, path: path, "expected a duration such as \"1.5s\", got \(describe(v))")
            }
            writeSecondsNanos(seconds, nanos, into: &w)
        case "google.protobuf.FieldMask":
            guard case .string(let s) = v else { throw ProtoTranscodingError(.wrongType, path: path, "expected a field mask string, got \(v.kind)") }
            for p in s.split(separator: ",") where !p.isEmpty {
                w.tag(1, .lengthDelimited)
                w.lengthDelimited(Array(Self.snakeCase(String(p)).utf8))
            }
        case "google.protobuf.Empty":
            guard case .object(let members) = v else { throw ProtoTranscodingError(.wrongType, path: path, "expected {}, got \(v.kind)") }
            if let first = members.first { throw ProtoTranscodingError(.unknownField, path: path, "unknown field \"\(first.key)\" in google.protobuf.Empty") }
        case "google.protobuf.Struct":
            guard case .object = v else { throw ProtoTranscodingError(.wrongType, path: path, "expected an object for google.protobuf.Struct, got \(v.kind)") }
            try structFields(v, path: path, depth: depth, into: &w)
        case "google.protobuf.ListValue":
            guard case .array(let items) = v else { throw ProtoTranscodingError(.wrongType, path: path, "expected an array for google.protobuf.ListValue, got \(v.kind)") }
            for (k, item) in items.enumerated() {
                w.tag(1, .lengthDelimited)
                w.lengthDelimited(try value(item, path: "\(path)[\(k)]", depth: depth + 1))
            }
        case "google.protobuf.Value":
            return try value(v, path: path, depth: depth)
        case "google.protobuf.Any":
            throw ProtoTranscodingError(.unsupported, path: path, "google.protobuf.Any is not supported")
        default:
            return nil
        }
        return w.bytes
    }

    private func describe(_ v: ProtoJSONValue) -> String {
        if case .string(let s) = v { return "\"\(s)\"" }
        return v.kind
    }

    private func write(_ s: Scalar, number: Int, into w: inout ProtoWireWriter) {
        switch s {
        case .varint(let x): w.tag(number, .varint); w.varint(x)
        case .fixed32(let x): w.tag(number, .fixed32); w.fixed32(x)
        case .fixed64(let x): w.tag(number, .fixed64); w.fixed64(x)
        case .bytes(let b): w.tag(number, .lengthDelimited); w.lengthDelimited(b)
        }
    }

    private func writeSecondsNanos(_ seconds: Int64, _ nanos: Int32, into w: inout ProtoWireWriter) {
        if seconds != 0 { w.tag(1, .varint); w.varint(UInt64(bitPattern: seconds)) }
        if nanos != 0 { w.tag(2, .varint); w.varint(UInt64(bitPattern: Int64(nanos))) }
    }

    /// A Struct's `fields` map (field 1), entries by key.
    private func structFields(_ v: ProtoJSONValue, path: String, depth: Int, into w: inout ProtoWireWriter) throws(ProtoTranscodingError) {
        guard depth < maxDepth else { throw ProtoTranscodingError(.tooDeep, path: path, "messages nest deeper than \(maxDepth) levels") }
        guard case .object(let members) = v else { return }
        var entries: [(String, [UInt8])] = []
        var keys = Set<String>()
        for (k, item) in members {
            guard keys.insert(k).inserted else { throw ProtoTranscodingError(.duplicateField, path: "\(path).\(k)", "key \(k) appears twice") }
            var e = ProtoWireWriter()
            e.tag(1, .lengthDelimited)
            e.lengthDelimited(Array(k.utf8))
            e.tag(2, .lengthDelimited)
            e.lengthDelimited(try value(item, path: path.isEmpty ? k : "\(path).\(k)", depth: depth + 1))
            entries.append((k, e.bytes))
        }
        for (_, bytes) in entries.sorted(by: { $0.0 < $1.0 }) {
            w.tag(1, .lengthDelimited)
            w.lengthDelimited(bytes)
        }
    }

    /// A `google.protobuf.Value` for any JSON value.
    private func value(_ v: ProtoJSONValue, path: String, depth: Int) throws(ProtoTranscodingError) -> [UInt8] {
        guard depth < maxDepth else { throw ProtoTranscodingError(.tooDeep, path: path, "messages nest deeper than \(maxDepth) levels") }
        var w = ProtoWireWriter()
        switch v {
        case .null: w.tag(1, .varint); w.varint(0)
        case .number(let t):
            guard let d = Double(t), d.isFinite else { throw ProtoTranscodingError(.wrongType, path: path, "\(t) is out of range") }
            w.tag(2, .fixed64); w.fixed64(d.bitPattern)
        case .string(let s): w.tag(3, .lengthDelimited); w.lengthDelimited(Array(s.utf8))
        case .bool(let b): w.tag(4, .varint); w.varint(b ? 1 : 0)
        case .object:
            var s = ProtoWireWriter()
            try structFields(v, path: path, depth: depth + 1, into: &s)
            w.tag(5, .lengthDelimited); w.lengthDelimited(s.bytes)
        case .array(let items):
            var l = ProtoWireWriter()
            for (k, item) in items.enumerated() {
                l.tag(1, .lengthDelimited)
                l.lengthDelimited(try value(item, path: "\(path)[\(k)]", depth: depth + 2))
            }
            w.tag(6, .lengthDelimited); w.lengthDelimited(l.bytes)
        }
        return w.bytes
    }

    /// `fooBar` → `foo_bar` (a FieldMask path's JSON form back to proto names).
    static func snakeCase(_ s: String) -> String {
        var out = ""
        for c in s {
            if c.isUppercase, c.isASCII { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
