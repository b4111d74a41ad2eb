/// Which records a read or list returns: keys starting with ``prefix`` and ending with ``suffix``
/// (both may hold, overlapping), in ascending byte order of the key, skipping ``offset`` of them and
/// returning at most ``limit``.
public struct StoreQuery: Sendable, Hashable {
    /// Keys start with this; empty matches all.
    public var prefix: String
    /// Keys end with this; empty matches all.
    public var suffix: String
    /// The most records returned; nil no limit.
    public var limit: Int?
    /// How many matching records, in key order, to skip first.
    public var offset: Int

    /// A query; the defaults match every key.
    public init(prefix: String = "", suffix: String = "", limit: Int? = nil, offset: Int = 0) {
        self.prefix = prefix
        self.suffix = suffix
        self.limit = limit
        self.offset = offset
    }

    /// Throws ``StoreError/Code/invalidKey`` for a prefix or suffix that no key could have (too long,
    /// NUL) and ``StoreError/Code/invalidArgument`` for a negative limit or offset.
    public func validate() throws {
        try StoreKey.validateAffix(prefix, role: "prefix")
        try StoreKey.validateAffix(suffix, role: "suffix")
        if let limit, limit < 0 { throw StoreError(.invalidArgument, "a limit may not be negative, got \(limit)") }
        if offset < 0 { throw StoreError(.invalidArgument, "an offset may not be negative, got \(offset)") }
    }

    /// Whether `key` matches the prefix and suffix, comparing bytes.
    public func matches(_ key: String) -> Bool {
        (prefix.isEmpty || key.utf8.starts(with: prefix.utf8))
            && (suffix.isEmpty || key.utf8.reversed().starts(with: suffix.utf8.reversed()))
    }
}
