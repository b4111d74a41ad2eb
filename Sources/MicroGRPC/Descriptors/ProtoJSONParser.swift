import MicroCore

/// Reads JSON text into ``ProtoJSONValue``s through MicroCore's strict, bounded parser (RFC 8259,
/// UTF-8 checked): nesting is limited to `maxDepth` (a `ProtoTranscodingError` of code `tooDeep`),
/// and every other problem is one of code `malformedJSON` naming the byte offset.
enum ProtoJSONParser {
    /// Parses `text` as one JSON value (surrounding whitespace allowed).
    static func parse(_ text: some Sequence<UInt8>, maxDepth: Int = 100) throws(ProtoTranscodingError) -> ProtoJSONValue {
        let tape: JSONTape
        do {
            tape = try JSONTape(Array(text), maxDepth: maxDepth)
        } catch {
            switch error.code {
            case .tooDeep: throw ProtoTranscodingError(.tooDeep, "JSON nests deeper than \(maxDepth) levels")
            case .malformed: throw ProtoTranscodingError(.malformedJSON, "invalid JSON at offset \(error.offset): \(error.reason)")
            }
        }
        return value(tape, 0)
    }

    /// The value at tape entry `index` (the tape is already validated).
    private static func value(_ tape: JSONTape, _ index: Int) -> ProtoJSONValue {
        let entry = tape.entries[index]
        switch entry.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number: return .number(String(tape.numberText(at: index)))
        case .string: return .string(tape.string(at: index))
        case .array:
            var items: [ProtoJSONValue] = []
            items.reserveCapacity(Int(entry.count))
            var i = index + 1
            for _ in 0..<Int(entry.count) {
                items.append(value(tape, i))
                i = Int(tape.entries[i].next)
            }
            return .array(items)
        case .object:
            var members: [(key: String, value: ProtoJSONValue)] = []
            members.reserveCapacity(Int(entry.count))
            var i = index + 1
            for _ in 0..<Int(entry.count) {
                members.append((tape.string(at: i), value(tape, i + 1)))
                i = Int(tape.entries[i + 1].next)
            }
            return .object(members)
        }
    }
}
