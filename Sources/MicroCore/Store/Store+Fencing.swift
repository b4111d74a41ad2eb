extension Store {
    /// Writes `write` only if no write of `write.key` carried a greater token of the same lock: a lock
    /// holder whose lease passed cannot overwrite what a later holder wrote (refused with
    /// ``StoreError/Code/conflict``, nothing changed). The token is kept with the record as metadata
    /// (``StoreWrite/fenceMetadata``) and checked with a compare-and-set on the record's revision, so it is as
    /// atomic as the store's conditional writes; ``StoreWrite/condition`` still applies.
    public func write(_ write: StoreWrite, ifToken token: FencingToken) async throws -> UInt64 {
        try write.validate(limits)
        var fenced = write
        fenced.metadata[StoreWrite.fenceMetadata] = "\(token.value) \(token.lock)"
        if case .ifAbsent = write.condition { return try await self.write(fenced) }
        // Another writer moving the record between the read and the write is a retry, a few times.
        for _ in 0..<16 {
            let current = try await read(write.key)
            try Self.checkFence(current, token, key: write.key)
            switch write.condition {
            case .ifRevision(let expected):
                guard let current, current.revision == expected else {
                    throw StoreError(.conflict, "'\(StoreKey.printable(write.key))' is not at revision \(expected)")
                }
                return try await self.write(fenced)
            default:
                fenced.condition = current.map { .ifRevision($0.revision) } ?? .ifAbsent
                do { return try await self.write(fenced) } catch let error as StoreError where error.code == .conflict { continue }
            }
        }
        throw StoreError(.conflict, "'\(StoreKey.printable(write.key))' kept changing under a fenced write")
    }

    /// Deletes `key` only if no write of it carried a greater token of the same lock (as
    /// ``write(_:ifToken:)``): true when a live record was deleted.
    public func delete(_ key: String, ifToken token: FencingToken) async throws -> Bool {
        for _ in 0..<16 {
            guard let current = try await read(key) else { return false }
            try Self.checkFence(current, token, key: key)
            do { return try await delete(key, ifRevision: current.revision) } catch let error as StoreError where error.code == .conflict { continue }
        }
        throw StoreError(.conflict, "'\(StoreKey.printable(key))' kept changing under a fenced delete")
    }

    /// Throws ``StoreError/Code/conflict`` when `record` was written with a greater token of `token`'s lock.
    private static func checkFence(_ record: StoreRecord?, _ token: FencingToken, key: String) throws {
        guard let fence = record?.metadata[StoreWrite.fenceMetadata] else { return }
        guard let space = fence.firstIndex(of: " "), let value = UInt64(fence[..<space]) else {
            throw StoreError(.malformed, "'\(StoreKey.printable(key))' holds the fence '\(StoreKey.printable(fence))'")
        }
        guard fence[fence.index(after: space)...] == token.lock[...] else { return }
        if value > token.value {
            throw StoreError(.conflict, "'\(StoreKey.printable(key))' was written with \(token.lock) token \(value); \(token.value) is stale")
        }
    }
}
