/// Serf's encoding of tags in memberlist node meta: byte 255 then a msgpack map (older serf: the
/// meta is just the `role` tag's value).
package enum SerfTags {
    /// The magic first byte of encoded tags.
    package static let magic: UInt8 = 255

    /// `tags` as node meta, keys sorted.
    package static func encode(_ tags: [String: String]) -> [UInt8] {
        var out: [UInt8] = [magic]
        let pairs = tags.keys.sorted().map { MessagePackPair(.string($0), .string(tags[$0] ?? "")) }
        // Encoding a map of strings cannot fail (sizes are bounded by the caller's meta check).
        try? MessagePack.encode(.map(pairs), into: &out)
        return out
    }

    /// The tags held in node meta (empty when the meta is not readable).
    package static func decode(_ meta: [UInt8]) -> [String: String] {
        guard let first = meta.first else { return [:] }
        guard first == magic else { return ["role": String(decoding: meta, as: UTF8.self)] }
        guard let (value, _) = try? MessagePack.decode(meta, from: 1, limits: .init(maxDepth: 2, maxCount: 512, maxBytes: 512)),
              case .map(let pairs) = value else { return [:] }
        var tags: [String: String] = [:]
        for p in pairs {
            if let k = p.key.stringValue, let v = p.value.stringValue { tags[k] = v }
        }
        return tags
    }
}
