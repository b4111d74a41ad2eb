/// The well-known types' special JSON forms, binary → JSON.
extension ProtoJSONDecoder {
    /// Every field of a message without a descriptor: (number, value), in wire order.
    private func fields(_ bytes: ArraySlice<UInt8>, path: String, depth: Int,
                        expecting wireTypes: [Int: UInt64]) throws(ProtoTranscodingError) -> [(Int, Raw)] {
        var reader = ProtoWireReader(bytes, path: path)
        var out: [(Int, Raw)] = []
        while !reader.isAtEnd {
            let (number, wire) = try reader.tag()
            guard let expected = wireTypes[number] else {
                try reader.skip(wire, number: number, depth: maxDepth - depth)
                continue
            }
            guard wire == expected else {
                throw ProtoTranscodingError(.malformedProtobuf, path: path, "malformed protobuf: field \(number) has wire type \(wire), expected \(expected)")
            }
            out.append((number, try Self.read(wire, &reader)))
        }
        return out
    }

    private func secondsNanos(_ bytes: ArraySlice<UInt8>, path: String, depth: Int) throws(ProtoTranscodingError) -> (Int64, Int32) {
        var seconds: Int64 = 0, nanos: Int32 = 0
        for (n, raw) in try fields(bytes, path: path, depth: depth, expecting: [1: 0, 2: 0]) {
            guard case .varint(let v) = raw else { continue }
            if n == 1 { seconds = Int64(bitPattern: v) } else { nanos = Int32(truncatingIfNeeded: v) }
        }
        return (seconds, nanos)
    }

    /// Appends a well-known type's JSON; false for any other type.
    func wellKnown(_ bytes: ArraySlice<UInt8>, _ type: String, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) -> Bool {
        guard type.hasPrefix("google.protobuf.") else { return false }
        if let scalarType = ProtoJSONEncoder.wrapperTypes[type] {
            let wire = Self.wireType(scalarType)
            var raw = Self.defaultRaw(scalarType)
            for (_, r) in try fields(bytes, path: path, depth: depth, expecting: [1: wire]) { raw = r }
            out += try Self.scalar(raw, scalarType, path: path)
            return true
        }
        switch type {
        case "google.protobuf.Timestamp":
            let (s, n) = try secondsNanos(bytes, path: path, depth: depth)
            guard let text = ProtoTime.formatTimestamp(seconds: s, nanos: n) else {
                throw ProtoTranscodingError(.malformedProtobuf, path: path, "timestamp \(s)s \(n)ns is out of range")
            }
            out += "\"\(text)\""
        case "google.protobuf.Duration":
            let (s, n) = try secondsNanos(bytes, path: path, depth: depth)
            guard let text = ProtoTime.formatDuration(seconds: s, nanos: n) else {
                throw ProtoTranscodingError(.malformedProtobuf, path: path, "duration \(s)s \(n)ns is out of range")
            }
            out += "\"\(text)\""
        case "google.protobuf.FieldMask":
            var paths: [String] = []
            for (_, raw) in try fields(bytes, path: path, depth: depth, expecting: [1: 2]) {
                paths.append(ProtoDescriptorIndex.jsonName(try Self.string(raw, path: path)))
            }
            out += Self.quoted(paths.joined(separator: ","))
        case "google.protobuf.Empty":
            _ = try fields(bytes, path: path, depth: depth, expecting: [:])
            out += "{}"
        case "google.protobuf.Struct":
            try structFields(bytes, path: path, depth: depth, into: &out)
        case "google.protobuf.ListValue":
            try list(bytes, path: path, depth: depth, into: &out)
        case "google.protobuf.Value":
            try value(bytes, path: path, depth: depth, into: &out)
        case "google.protobuf.Any":
            throw ProtoTranscodingError(.unsupported, path: path, "google.protobuf.Any is not supported")
        default:
            return false
        }
        return true
    }

    private static func string(_ raw: Raw, path: String) throws(ProtoTranscodingError) -> String {
        guard case .bytes(let b) = raw, let s = String(validating: b, as: UTF8.self) else {
            throw ProtoTranscodingError(.malformedProtobuf, path: path, "malformed protobuf: a string that is not UTF-8")
        }
        return s
    }

    private func checkDepth(_ depth: Int, _ path: String) throws(ProtoTranscodingError) {
        guard depth < maxDepth else { throw ProtoTranscodingError(.tooDeep, path: path, "messages nest deeper than \(maxDepth) levels") }
    }

    private func structFields(_ bytes: ArraySlice<UInt8>, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) {
        try checkDepth(depth, path)
        var members: [String: String] = [:]
        for (_, raw) in try fields(bytes, path: path, depth: depth, expecting: [1: 2]) {
            guard case .bytes(let entry) = raw else { continue }
            var key = "", text = "null"
            for (n, r) in try fields(entry, path: path, depth: depth + 1, expecting: [1: 2, 2: 2]) {
                if n == 1 {
                    key = try Self.string(r, path: path)
                } else if case .bytes(let v) = r {
                    text = ""
                    try value(v, path: path.isEmpty ? key : "\(path).\(key)", depth: depth + 2, into: &text)
                }
            }
            members[key] = text
        }
        out += "{" + members.sorted { $0.key < $1.key }.map { Self.quoted($0.key) + ":" + $0.value }.joined(separator: ",") + "}"
    }

    private func list(_ bytes: ArraySlice<UInt8>, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) {
        try checkDepth(depth, path)
        out += "["
        var k = 0
        for (_, raw) in try fields(bytes, path: path, depth: depth, expecting: [1: 2]) {
            guard case .bytes(let v) = raw else { continue }
            if k > 0 { out += "," }
            try value(v, path: "\(path)[\(k)]", depth: depth + 1, into: &out)
            k += 1
        }
        out += "]"
    }

    private func value(_ bytes: ArraySlice<UInt8>, path: String, depth: Int, into out: inout String) throws(ProtoTranscodingError) {
        try checkDepth(depth, path)
        var text = "null"
        for (n, raw) in try fields(bytes, path: path, depth: depth, expecting: [1: 0, 2: 1, 3: 2, 4: 0, 5: 2, 6: 2]) {
            switch (n, raw) {
            case (1, _): text = "null"
            case (2, .fixed64(let v)):
                let d = Double(bitPattern: v)
                guard d.isFinite else { throw ProtoTranscodingError(.wrongType, path: path, "google.protobuf.Value cannot hold \(d) in JSON") }
                text = Self.number(d, float: nil)
            case (3, _): text = Self.quoted(try Self.string(raw, path: path))
            case (4, .varint(let v)): text = v != 0 ? "true" : "false"
            case (5, .bytes(let b)):
                text = ""
                try structFields(b, path: path, depth: depth + 1, into: &text)
            case (6, .bytes(let b)):
                text = ""
                try list(b, path: path, depth: depth + 1, into: &text)
            default: break
            }
        }
        out += text
    }
}
