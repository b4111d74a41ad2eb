/// Codable values in a store, as JSON (the framework's own coders, which match Foundation's output).
extension Store {
    /// Writes `value` as JSON under `key` and returns the new revision.
    @discardableResult
    public func write<Value: Encodable>(_ key: String, value: Value, metadata: [String: String] = [:], ttl: Duration? = nil,
                                        condition: StoreCondition = .always) async throws -> UInt64 {
        let bytes: [UInt8]
        do { bytes = try JSONStreamEncoding.encode(value) } catch {
            throw StoreError(.invalidArgument, "cannot encode \(Value.self) as JSON: \(error)")
        }
        return try await write(StoreWrite(key: key, value: bytes, metadata: metadata, ttl: ttl, condition: condition))
    }

    /// The value under `key` decoded from JSON as `type`; nil when there is no live record, and
    /// ``StoreError/Code/malformed`` when it does not decode.
    public func read<Value: Decodable>(_ key: String, as type: Value.Type) async throws -> Value? {
        guard let record = try await read(key) else { return nil }
        return try Self.decode(type, record)
    }

    /// The record under `key` with its value decoded as `type`, and the revision to write it back with.
    public func entry<Value: Decodable & Sendable>(_ key: String, as type: Value.Type) async throws -> StoreEntry<Value>? {
        guard let record = try await read(key) else { return nil }
        return StoreEntry(key: record.key, value: try Self.decode(type, record), metadata: record.metadata,
                          expiry: record.expiry, revision: record.revision)
    }

    /// The records matching `query`, values decoded as `type`; one that does not decode fails them all
    /// with ``StoreError/Code/malformed``.
    public func entries<Value: Decodable & Sendable>(_ query: StoreQuery = StoreQuery(), as type: Value.Type) async throws -> [StoreEntry<Value>] {
        try await read(query).map { record in
            StoreEntry(key: record.key, value: try Self.decode(type, record), metadata: record.metadata,
                       expiry: record.expiry, revision: record.revision)
        }
    }

    /// Reads `key` as `type` (nil when absent), applies `change`, and writes the result back only if the
    /// record was not written meanwhile, reading again on a conflict up to `maxAttempts` times; returns
    /// what was written (its expiry computed from `ttl` just before the write, so the store's may be a
    /// few milliseconds later). Metadata and TTL are those given here.
    @discardableResult
    public func update<Value: Codable & Sendable>(
        _ key: String, as type: Value.Type, metadata: [String: String] = [:], ttl: Duration? = nil, maxAttempts: Int = 32,
        _ change: (Value?) throws -> Value
    ) async throws -> StoreEntry<Value> {
        var attempt = 0
        while true {
            attempt += 1
            let current = try await entry(key, as: type)
            let next = try change(current?.value)
            let condition: StoreCondition = current.map { .ifRevision($0.revision) } ?? .ifAbsent
            do {
                let now = StoreClock.nowMilliseconds()
                let revision = try await write(key, value: next, metadata: metadata, ttl: ttl, condition: condition)
                let expiry = ttl.flatMap { StoreWrite(key: key, value: [], ttl: $0).expiryMilliseconds(now: now) }
                return StoreEntry(key: key, value: next, metadata: metadata, expiry: expiry.map { StoreClock.date(milliseconds: $0) },
                                  revision: revision)
            } catch let error as StoreError where error.code == .conflict && attempt < maxAttempts {
                continue
            }
        }
    }

    private static func decode<Value: Decodable>(_ type: Value.Type, _ record: StoreRecord) throws -> Value {
        do {
            return try JSONTapeDecoding.decode(type, from: record.value)
        } catch let error as DecodingError {
            throw StoreError(.malformed, "value of '\(StoreKey.printable(record.key))' is not a \(Value.self): \(JSONCodec.describe(error))")
        } catch {
            throw StoreError(.malformed, "value of '\(StoreKey.printable(record.key))' is not \(Value.self) JSON: \(error)")
        }
    }
}
