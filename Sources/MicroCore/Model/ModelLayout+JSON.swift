/// A model's Codable form (JSON) to field values and back.
extension ModelLayout {
    /// The value of every field present in `json` (a model encoded by the framework's JSON encoder or
    /// read back from a store); ``StoreError/Code/malformed`` when it is not a JSON object or a field
    /// does not hold its kind of value.
    package func values(fromJSON json: [UInt8]) throws -> [String: ModelValue] {
        let tape: JSONTape
        do { tape = try JSONTape(json) } catch {
            throw StoreError(.malformed, "a \(model) row is not JSON: \(error)")
        }
        guard let top = tape.entries.first, top.kind == .object else {
            throw StoreError(.malformed, "a \(model) row is not a JSON object")
        }
        var values: [String: ModelValue] = [:]
        var i = 1
        for _ in 0..<Int(top.count) {
            let name = tape.string(at: i)
            let valueIndex = i + 1
            i = Int(tape.entries[valueIndex].next)
            guard let field = field(name) else { continue }
            values[name] = try value(of: field, at: valueIndex, in: tape)
        }
        return values
    }

    private func value(of field: Field, at index: Int, in tape: JSONTape) throws -> ModelValue {
        let entry = tape.entries[index]
        if entry.kind == .null { return .null }
        switch (field.kind, entry.kind) {
        case (.json, _):
            let start = Int(entry.kind == .string ? entry.start - 1 : entry.start)
            let end = Int(entry.kind == .string ? entry.end + 1 : entry.end)
            return .json(String(decoding: tape.bytes[start..<end], as: UTF8.self))
        case (.string, .string): return .string(tape.string(at: index))
        case (.bool, .true): return .bool(true)
        case (.bool, .false): return .bool(false)
        case (.int, .number):
            let text = tape.numberText(at: index)
            if let i = Int64(text) { return .int(i) }
            if let d = Double(text) { return .double(d) }
        case (.double, .number):
            if let d = Double(tape.numberText(at: index)) { return .double(d) }
        default: break
        }
        throw StoreError(.malformed, "field '\(field.name)' of a \(model) row does not hold \(field.kind == .int ? "an" : "a") \(field.kind)")
    }

    /// The JSON object of `values` (missing fields take their default, if any, else are left out), to
    /// decode the model from.
    package func json(from values: [String: ModelValue]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for field in fields {
            guard let value = values[field.name] ?? defaults[field.name] else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out += field.name.utf8
            out += "\":".utf8
            Self.append(value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func append(_ value: ModelValue, to out: inout [UInt8]) {
        switch value {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d): out += (d.isFinite ? "\(d)" : "null").utf8
        case .string(let s): out += (try? JSONStreamEncoding.encode(s)) ?? Array("\"\"".utf8)
        case .json(let j): out += j.utf8
        }
    }

    /// Whether a JSON row lacks a field that has a default, so it must be rebuilt before decoding.
    package func needsDefaults(_ values: [String: ModelValue]) -> Bool {
        defaults.keys.contains { values[$0] == nil }
    }
}
