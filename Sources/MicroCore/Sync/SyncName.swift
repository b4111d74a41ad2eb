/// The rules for lock and leader names and TTLs, the same on every engine.
///
/// A name is 1 to ``maxLength`` ASCII characters of `[A-Za-z0-9_-]` and dots, a dot neither first, last
/// nor next to another (a NATS subject token list, a valid etcd key and store key). A TTL is positive
/// and at most ``maxTTL``.
public enum SyncName {
    /// The longest name.
    public static let maxLength = 200
    /// The longest TTL.
    public static let maxTTL: Duration = .seconds(86_400)
    /// The longest holder identity, in UTF-8 bytes.
    public static let maxHolderLength = 256

    /// Throws ``SyncError/Code/invalidName`` unless `name` is a valid name.
    public static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength else {
            throw SyncError(.invalidName, "a lock name is 1 to \(maxLength) characters, got \(bytes.count)")
        }
        var previousDot = true
        for byte in bytes {
            let dot = byte == UInt8(ascii: ".")
            let allowed = dot || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            guard allowed, !(dot && previousDot) else {
                throw SyncError(.invalidName, "a lock name is [A-Za-z0-9_-] and dots between them, got '\(StoreKey.printable(name))'")
            }
            previousDot = dot
        }
        if previousDot { throw SyncError(.invalidName, "a lock name may not end with a dot: '\(StoreKey.printable(name))'") }
    }

    /// Throws ``SyncError/Code/invalidTTL`` unless `ttl` is positive and at most ``maxTTL``.
    public static func validate(ttl: Duration) throws {
        guard ttl > .zero, ttl <= maxTTL else { throw SyncError(.invalidTTL, "a TTL is positive and at most \(maxTTL), got \(ttl)") }
    }

    /// Throws ``SyncError/Code/invalidArgument`` unless `holder` is 1 to ``maxHolderLength`` bytes without NUL.
    public static func validate(holder: String) throws {
        let count = holder.utf8.count
        guard count > 0, count <= maxHolderLength, !holder.utf8.contains(0) else {
            throw SyncError(.invalidArgument, "a holder is 1 to \(maxHolderLength) bytes without NUL, got \(count)")
        }
    }

    /// Throws ``SyncError/Code/invalidName`` unless `key` is a key the core makes: `lock/` or `leader/`
    /// and a valid name (what engines check their ``Sync`` calls with).
    public static func validate(key: String) throws {
        for kind in ["lock/", "leader/"] where key.hasPrefix(kind) {
            return try validate(String(key.dropFirst(kind.count)))
        }
        throw SyncError(.invalidName, "a lock key is lock/<name> or leader/<name>, got '\(StoreKey.printable(key))'")
    }
}
