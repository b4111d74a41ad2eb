/// Which keys a request concerns: `[key, rangeEnd)` as etcd defines ranges.
public struct EtcdKeyRange: Sendable, Hashable {
    /// The first key.
    public var key: [UInt8]
    /// The end of the range, exclusive; empty means just ``key``; `[0]` means every key from ``key`` on.
    public var rangeEnd: [UInt8]

    /// A range in etcd's terms.
    public init(key: [UInt8], rangeEnd: [UInt8] = []) {
        self.key = key
        self.rangeEnd = rangeEnd
    }

    /// Exactly one key.
    public static func key(_ key: String) -> EtcdKeyRange { EtcdKeyRange(key: Array(key.utf8)) }

    /// Every key starting with `prefix` (every key at all for an empty prefix).
    public static func prefix(_ prefix: String) -> EtcdKeyRange { Self.prefix(Array(prefix.utf8)) }

    /// Every key starting with the bytes of `prefix`.
    public static func prefix(_ prefix: [UInt8]) -> EtcdKeyRange {
        guard !prefix.isEmpty else { return EtcdKeyRange(key: [0], rangeEnd: [0]) }
        return EtcdKeyRange(key: prefix, rangeEnd: prefixEnd(prefix))
    }

    /// The smallest key greater than every key with `prefix`: the prefix with its last byte that is
    /// not 0xff incremented and what follows dropped; `[0]` (the end of the keyspace) when all are 0xff.
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}
