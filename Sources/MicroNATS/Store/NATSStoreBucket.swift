import MicroCore

/// The key-value bucket of a store scope: `<prefix>_<database>_T_<table>` (so the stream is
/// `KV_<prefix>_<database>_T_<table>`). Scope names are lowercase `[a-z0-9_-]`, so the first
/// uppercase `T` after the prefix is the separator and every scope has a bucket of its own.
package enum NATSStoreBucket {
    /// The bucket of `scope`.
    package static func name(prefix: String, _ scope: StoreScope) -> String {
        "\(prefix)_\(scope.database)_T_\(scope.table)"
    }

    /// The scope whose bucket is `bucket`, nil for a bucket that is not one of this prefix's.
    package static func scope(_ bucket: String, prefix: String) -> StoreScope? {
        let head = prefix + "_"
        guard bucket.hasPrefix(head) else { return nil }
        let rest = bucket.dropFirst(head.count)
        guard let t = rest.firstIndex(of: "T"), t > rest.startIndex, rest[rest.index(before: t)] == "_" else { return nil }
        let afterT = rest.index(after: t)
        guard afterT < rest.endIndex, rest[afterT] == "_" else { return nil }
        let database = String(rest[..<rest.index(before: t)])
        let table = String(rest[rest.index(after: afterT)...])
        guard let scope = try? StoreScope(database: database, table: table), scope.database == database, scope.table == table else { return nil }
        return scope
    }
}
