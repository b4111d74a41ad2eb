/// The everyday forms of the store operations.
extension Store {
    /// The same backend bound to `table` in `database` (default: this value's database).
    public func scoped(database: String? = nil, table: String) throws -> any Store {
        scoped(try StoreScope(database: database ?? scope.database, table: table))
    }

    /// The live records whose keys start with `prefix` and end with `suffix`, in key order, skipping
    /// `offset` and returning at most `limit`.
    public func read(prefix: String = "", suffix: String = "", limit: Int? = nil, offset: Int = 0) async throws -> [StoreRecord] {
        try await read(StoreQuery(prefix: prefix, suffix: suffix, limit: limit, offset: offset))
    }

    /// The keys of the live records that start with `prefix` and end with `suffix`, in key order,
    /// skipping `offset` and returning at most `limit`.
    public func list(prefix: String = "", suffix: String = "", limit: Int? = nil, offset: Int = 0) async throws -> [String] {
        try await list(StoreQuery(prefix: prefix, suffix: suffix, limit: limit, offset: offset))
    }

    /// Writes `bytes` under `key` (living `ttl`, if given, when `condition` holds) and returns the new revision.
    @discardableResult
    public func write(_ key: String, bytes: [UInt8], metadata: [String: String] = [:], ttl: Duration? = nil,
                      condition: StoreCondition = .always) async throws -> UInt64 {
        try await write(StoreWrite(key: key, value: bytes, metadata: metadata, ttl: ttl, condition: condition))
    }

    /// Deletes the record under `key`, whatever its revision: true when there was a live one.
    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try await delete(key, ifRevision: nil)
    }
}
