/// Metadata as backends keep it: a JSON object of strings, keys sorted, so the same metadata is the
/// same text everywhere; reading it back from a database is checked like any untrusted input.
package enum StoreMetadataCoding {
    /// The JSON text of `metadata`, keys in byte order.
    package static func encode(_ metadata: [String: String]) -> String {
        if metadata.isEmpty { return "{}" }
        var out = "{"
        for (i, name) in metadata.keys.sorted(by: StoreKey.precedes).enumerated() {
            if i > 0 { out += "," }
            appendQuoted(name, to: &out)
            out += ":"
            appendQuoted(metadata[name]!, to: &out)
        }
        return out + "}"
    }

    /// The metadata in `json`; throws ``StoreError/Code/malformed`` (naming `key`) unless it is a JSON
    /// object of strings.
    package static func decode(_ json: [UInt8], key: String) throws -> [String: String] {
        if json == [UInt8(ascii: "{"), UInt8(ascii: "}")] { return [:] }
        do {
            return try JSONTapeDecoding.decode([String: String].self, from: json)
        } catch {
            throw StoreError(.malformed, "metadata of '\(StoreKey.printable(key))' is not a JSON object of strings")
        }
    }

    private static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
