import Logging
import MicroCore
import NATSClient
import NIOCore

/// A ``MicroCore/Store`` on NATS JetStream key-value (`MICRO_STORE=nats`, `MICRO_STORE_ADDRESS` the
/// server URLs): each scope is a bucket in NATS's own layout, so the `nats` CLI, nats.go and nats-py
/// read and write the same records.
///
/// - Buckets: `<prefix>_<database>_T_<table>` (``NATSStoreBucket``; prefix `micro` by default), made on
///   the first write with history 1, on disk. Keys are encoded into key-value keys by ``NATSStoreKeyCoding``
///   (`a b.c` is `a=20b=2Ec`), so any store key fits a subject token.
/// - Records: the value is the message payload; metadata and expiry are headers (``NATSStoreEnvelope``).
/// - Revisions are the messages' stream sequences: per bucket, growing with every write and delete and
///   never reused, so a stale ``MicroCore/StoreCondition/ifRevision(_:)`` cannot match a newer record.
/// - Conditions are JetStream's `Nats-Expected-Last-Subject-Sequence`: `ifAbsent` expects no message
///   (0), or the delete marker or expired record that is there; `ifRevision` and a conditional delete
///   expect that revision. The key is read first to check the record is live; a record that expires
///   between that read and the write (one round trip) may still be matched.
/// - TTL: nats-server 2.9 has no per-message TTL, so the expiry travels in a header and every read
///   filters on it: an expired record is never returned, and stays in the bucket until it is written
///   again or deleted.
/// - Prefix and suffix reads and lists read the last message of every key of the bucket with an ordered
///   consumer (lists only the headers), decode and filter the keys, drop expired records, sort by key
///   bytes, then apply the offset and limit: their cost grows with the bucket, not with the answer.
///   A subject filter cannot narrow them: every store key is one subject token (`.` is encoded as
///   `=2E`, so any key is a valid key-value key), and NATS wildcards match whole tokens only, so no
///   filter on `$KV.<bucket>.…` selects the keys starting with a prefix. Keeping `.` as a token
///   separator would make `a.` or `a..b` impossible keys and change the layout other clients read.
/// - Deletes write a `KV-Operation: DEL` marker. What the bucket holds is untrusted: a key this store
///   did not encode or a header that is not the envelope fails a read or list with
///   ``MicroCore/StoreError/Code/malformed``; a delete removes it. A server that cannot be reached, or
///   does not answer within ``NATSStoreConfiguration/timeout``, is ``MicroCore/StoreError/Code/unavailable``;
///   the store reconnects by itself when the server is back.
public final class NATSStore: Store {
    /// Always `nats`.
    public let name = "nats"
    public let scope: StoreScope
    /// The bucket of this scope.
    public let bucketName: String
    private let backend: NATSStoreBackend

    /// A store on `connection`, which others may share; ``shutdown()`` leaves it open.
    public convenience init(connection: NATSConnection, configuration: NATSStoreConfiguration = NATSStoreConfiguration(),
                            scope: StoreScope = .default, logger: Logger = Logger(label: "micro.store.nats")) {
        self.init(backend: NATSStoreBackend(source: NATSConnectionSource(shared: connection, logger: logger),
                                            configuration: configuration, logger: logger), scope: scope)
    }

    /// A store that connects with `options` on first use and closes that connection on ``shutdown()``.
    public convenience init(options: NATSOptions, configuration: NATSStoreConfiguration = NATSStoreConfiguration(),
                            scope: StoreScope = .default, logger: Logger = Logger(label: "micro.store.nats")) {
        self.init(backend: NATSStoreBackend(source: NATSConnectionSource(options: options, logger: logger),
                                            configuration: configuration, logger: logger), scope: scope)
    }

    /// A store on the servers of a comma-separated list of URLs (`MICRO_STORE_ADDRESS`; empty or nil: `nats://127.0.0.1:4222`).
    public convenience init(addresses: String?, configuration: NATSStoreConfiguration = NATSStoreConfiguration(),
                            scope: StoreScope = .default, logger: Logger = Logger(label: "micro.store.nats")) {
        self.init(options: NATSOptions.servers(addresses), configuration: configuration, scope: scope, logger: logger)
    }

    private init(backend: NATSStoreBackend, scope: StoreScope) {
        self.backend = backend
        self.scope = scope
        bucketName = NATSStoreBucket.name(prefix: backend.configuration.bucketPrefix, scope)
    }

    /// The layout, limits and timeout.
    public var configuration: NATSStoreConfiguration { backend.configuration }
    public var limits: StoreLimits { backend.configuration.limits }

    /// The key-value key that holds `key` in this scope's bucket (for tools and tests that use NATS directly).
    public func bucketKey(_ key: String) throws -> String {
        try StoreKey.validate(key)
        return NATSStoreKeyCoding.encode(key)
    }

    public func scoped(_ scope: StoreScope) -> any Store {
        NATSStore(backend: backend, scope: scope)
    }

    /// Closes the store for every scope; a connection of its own is drained and closed.
    public func shutdown() async {
        await backend.close()
    }

    // MARK: Reading

    public func read(_ key: String) async throws -> StoreRecord? {
        try StoreKey.validate(key)
        return try await perform("read") {
            try await withBucket(create: false, absent: { nil }) { bucket in
                guard let (entry, envelope) = try await last(bucket, key), let envelope,
                      envelope.isLive(at: StoreClock.nowMilliseconds()) else { return nil }
                return Self.record(key, entry, envelope)
            }
        }
    }

    public func read(_ query: StoreQuery) async throws -> [StoreRecord] {
        try query.validate()
        return try await perform("read") {
            try await scan(query, values: true).map { Self.record($0.key, $0.entry, $0.envelope) }
        }
    }

    public func list(_ query: StoreQuery) async throws -> [String] {
        try query.validate()
        return try await perform("list") {
            try await scan(query, values: false).map(\.key)
        }
    }

    /// The last message of `key`: a record (with its envelope) or a delete marker (without); nil when
    /// the key has no message.
    private func last(_ bucket: KeyValue, _ key: String) async throws -> (entry: KeyValueEntry, envelope: NATSStoreEnvelope?)? {
        guard let entry = try await bucket.entry(NATSStoreKeyCoding.encode(key)) else { return nil }
        guard entry.operation == .put else { return (entry, nil) }
        return (entry, try NATSStoreEnvelope.decode(entry.headers, key: key))
    }

    /// The live records matching `query` in key order, after the offset and up to the limit: the last
    /// message of every key, read with an ordered consumer (headers only for a list), filtered here;
    /// read again from the start (up to twice) when the consumer lost its place.
    private func scan(_ query: StoreQuery, values: Bool) async throws -> [(key: String, entry: KeyValueEntry, envelope: NATSStoreEnvelope)] {
        let limit = query.limit ?? Int.max
        guard limit > 0 else { return [] }
        return try await withBucket(create: false, absent: { [] }) { bucket in
            try await scan(bucket, query, limit: limit, values: values)
        }
    }

    private func scan(_ bucket: KeyValue, _ query: StoreQuery, limit: Int,
                      values: Bool) async throws -> [(key: String, entry: KeyValueEntry, envelope: NATSStoreEnvelope)] {
        var attempt = 0
        while true {
            attempt += 1
            let now = StoreClock.nowMilliseconds()
            let watcher = try await bucket.watch(options: KeyValueWatchOptions(ignoreDeletes: true, headersOnly: !values,
                                                                                    idleHeartbeat: .seconds(1), recreate: false))
            var found: [(key: String, entry: KeyValueEntry, envelope: NATSStoreEnvelope)] = []
            do {
                for try await event in watcher {
                    guard let entry = event.entry else { break }
                    let key = try NATSStoreKeyCoding.decode(entry.key)
                    guard query.matches(key) else { continue }
                    let envelope = try NATSStoreEnvelope.decode(entry.headers, key: key)
                    guard envelope.isLive(at: now) else { continue }
                    found.append((key, entry, envelope))
                }
            } catch let error as JetStreamError where error.code == .consumerReset && attempt < 3 {
                await watcher.stop()
                continue
            } catch {
                await watcher.stop()
                throw error
            }
            await watcher.stop()
            found.sort { StoreKey.precedes($0.key, $1.key) }
            guard query.offset < found.count else { return [] }
            return Array(found[query.offset...].prefix(limit))
        }
    }

    // MARK: Writing

    public func write(_ write: StoreWrite) async throws -> UInt64 {
        try write.validate(limits)
        let printable = StoreKey.printable(write.key)
        let token = NATSStoreKeyCoding.encode(write.key)
        return try await perform("write") {
            try await withBucket(create: true, absent: { throw StoreError(.unavailable, "bucket \(bucketName) could not be created") }) { bucket in
                // A condition is an expected last sequence of the key's subject, after a read that checks the record is live.
                var expected: UInt64?
                switch write.condition {
                case .always:
                    break
                case .ifAbsent:
                    expected = 0
                    if let (entry, envelope) = try await last(bucket, write.key) {
                        if let envelope, envelope.isLive(at: StoreClock.nowMilliseconds()) {
                            throw StoreError(.conflict, "'\(printable)' exists (revision \(entry.revision))")
                        }
                        expected = entry.revision
                    }
                case .ifRevision(let revision):
                    guard let (entry, envelope) = try await last(bucket, write.key), let envelope,
                          envelope.isLive(at: StoreClock.nowMilliseconds()) else {
                        throw StoreError(.conflict, "'\(printable)' does not exist (expected revision \(revision))")
                    }
                    guard entry.revision == revision else {
                        throw StoreError(.conflict, "'\(printable)' is at revision \(entry.revision), not \(revision)")
                    }
                    expected = revision
                }
                let envelope = NATSStoreEnvelope(metadata: write.metadata, expiry: write.expiryMilliseconds(now: StoreClock.nowMilliseconds()))
                let value = ByteBuffer(bytes: write.value)
                do {
                    if let expected {
                        return try await bucket.update(token, value: value, revision: expected, headers: envelope.headers)
                    }
                    return try await bucket.put(token, value: value, headers: envelope.headers)
                } catch let error as JetStreamError where error.isWrongLastSequence {
                    throw StoreError(.conflict, write.condition == .ifAbsent
                        ? "'\(printable)' was written by someone else meanwhile"
                        : "'\(printable)' was written or deleted by someone else meanwhile")
                }
            }
        }
    }

    public func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try StoreKey.validate(key)
        let printable = StoreKey.printable(key)
        let token = NATSStoreKeyCoding.encode(key)
        let absent = { () throws -> Bool in
            if let ifRevision { throw StoreError(.conflict, "'\(printable)' does not exist (expected revision \(ifRevision))") }
            return false
        }
        return try await perform("delete") {
            try await withBucket(create: false, absent: absent) { bucket in
                try await delete(bucket, key, token, ifRevision: ifRevision, absent: absent)
            }
        }
    }

    /// Deletes `key` with a marker on its current revision: an unconditional delete looks again when it
    /// was written meanwhile (up to 8 times), a conditional one has lost then.
    private func delete(_ bucket: KeyValue, _ key: String, _ token: String, ifRevision: UInt64?, absent: () throws -> Bool) async throws -> Bool {
        let printable = StoreKey.printable(key)
        var attempt = 0
        while true {
            attempt += 1
            guard let entry = try await bucket.entry(token), entry.operation == .put else { return try absent() }
            // What is not a record is deleted all the same (and counts as deleted).
            let envelope = try? NATSStoreEnvelope.decode(entry.headers, key: key)
            let live = envelope.map { $0.isLive(at: StoreClock.nowMilliseconds()) } ?? true
            if let ifRevision {
                guard live, envelope != nil else { return try absent() }
                guard entry.revision == ifRevision else {
                    throw StoreError(.conflict, "'\(printable)' is at revision \(entry.revision), not \(ifRevision)")
                }
            }
            do {
                try await bucket.delete(token, revision: entry.revision)
                return live
            } catch let error as JetStreamError where error.isWrongLastSequence {
                if ifRevision != nil || attempt >= 8 {
                    throw StoreError(.conflict, "'\(printable)' was written or deleted by someone else meanwhile")
                }
            }
        }
    }

    // MARK: Databases and tables

    /// The databases with a bucket of this store's prefix, in ascending order.
    public func databases() async throws -> [String] {
        try await perform("databases") { Set(try await scopes().map(\.database)).sorted() }
    }

    /// The tables of this database that have a bucket, in ascending order.
    public func tables() async throws -> [String] {
        try await perform("tables") { try await scopes().filter { $0.database == scope.database }.map(\.table).sorted() }
    }

    private func scopes() async throws -> [StoreScope] {
        let prefix = backend.configuration.bucketPrefix
        return try await backend.jetStream().keyValueBuckets().compactMap { NATSStoreBucket.scope($0, prefix: prefix) }
    }

    // MARK: Plumbing

    /// Runs `body` on this scope's bucket (made first when `create`); `absent` answers when there is no
    /// bucket. A bucket deleted from outside since it was opened is forgotten and looked up once more.
    private func withBucket<T: Sendable>(create: Bool, absent: () throws -> T, _ body: (KeyValue) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            guard let bucket = try await backend.bucket(bucketName, create: create) else { return try absent() }
            do {
                return try await body(bucket)
            } catch let error as JetStreamError where attempt < 2 && (error.code == .noResponders || error.isStreamNotFound) {
                backend.forget(bucketName)
            }
        }
    }

    /// Runs `body` if the store is open, turning the client's errors into ``MicroCore/StoreError``s.
    private func perform<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try backend.checkOpen()
        do {
            return try await body()
        } catch {
            throw StoreError.nats(error, "\(operation) in \(scope)")
        }
    }

    private static func record(_ key: String, _ entry: KeyValueEntry, _ envelope: NATSStoreEnvelope) -> StoreRecord {
        StoreRecord(key: key, value: entry.bytes, metadata: envelope.metadata, expiry: envelope.expiry.map(StoreClock.date(milliseconds:)),
                    revision: entry.revision)
    }
}
