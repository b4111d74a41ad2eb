import EtcdClient
import Logging
import MicroCore

/// A ``MicroCore/Store`` on etcd (`MICRO_STORE=etcd`, `MICRO_STORE_ADDRESS` the members): each record
/// is the key `/micro/store/<database>/<table>/<key>` holding a small envelope of its value, metadata
/// and expiry (``EtcdStoreConfiguration/prefix`` changes the first part).
///
/// - Revisions are etcd's `mod_revision` of the key: cluster-wide, growing with every write and never
///   reused, so a stale ``MicroCore/StoreCondition/ifRevision(_:)`` cannot match a newer record.
/// - Conditions are etcd transactions: `ifRevision` compares the key's `mod_revision`, `ifAbsent` its
///   `create_revision` with 0 (or, over an expired record etcd still holds, that record's
///   `mod_revision`). The key is read first to check the record is live; a record that expires between
///   that read and the transaction (one round trip) may still be matched.
/// - TTL: a write with a TTL attaches the key to a lease shared by the writes of about the same TTL
///   (`EtcdStoreLeases`: the TTL rounded up to seconds plus a slack of at least 2 s), so etcd removes
///   the key a little after it expires. The expiry is also stored with the value and every read
///   filters on it, so a record is never returned past its expiry, whenever etcd's lease runs out.
/// - Prefix reads and lists are etcd range reads of the prefix at one revision, in etcd's key order
///   (ascending bytes), page by page (``EtcdStoreConfiguration/pageSize``); the suffix, the expiry,
///   the offset and the limit are applied here, in that order.
/// - What etcd holds is untrusted: a value that is not an envelope, or a key under the prefix that is
///   not a valid key, fails a read or list with ``MicroCore/StoreError/Code/malformed``; a delete
///   removes it (and answers true). etcd out of reach is ``MicroCore/StoreError/Code/unavailable``
///   within the client's `EtcdConfiguration/operationTimeout`; a write that fails so may or may not
///   have been applied (a transaction whose answer was lost is not sent again).
public final class EtcdStore: Store {
    /// Always `etcd`.
    public let name = "etcd"
    public let scope: StoreScope
    private let backend: EtcdStoreBackend
    private let keyspace: EtcdStoreKeyspace

    /// A store on `client`, which others may share; ``shutdown()`` leaves it open.
    public convenience init(client: EtcdConnection, configuration: EtcdStoreConfiguration = EtcdStoreConfiguration(), scope: StoreScope = .default,
                logger: Logger = Logger(label: "micro.store.etcd")) {
        self.init(backend: EtcdStoreBackend(client: client, ownsClient: false, configuration: configuration, logger: logger), scope: scope)
    }

    /// A store with a client of its own on `etcd`'s members, closed by ``shutdown()``.
    public convenience init(etcd: EtcdConfiguration, configuration: EtcdStoreConfiguration = EtcdStoreConfiguration(), scope: StoreScope = .default,
                logger: Logger = Logger(label: "micro.store.etcd")) throws {
        let client = try EtcdConnection(configuration: etcd, logger: logger)
        self.init(backend: EtcdStoreBackend(client: client, ownsClient: true, configuration: configuration, logger: logger), scope: scope)
    }

    /// A store on the members in a comma-separated list (`MICRO_STORE_ADDRESS`; empty or nil: `127.0.0.1:2379`).
    public convenience init(addresses: String?, configuration: EtcdStoreConfiguration = EtcdStoreConfiguration(), scope: StoreScope = .default,
                            logger: Logger = Logger(label: "micro.store.etcd")) throws {
        try self.init(etcd: EtcdConfiguration(addresses: addresses), configuration: configuration, scope: scope, logger: logger)
    }

    private init(backend: EtcdStoreBackend, scope: StoreScope) {
        self.backend = backend
        self.scope = scope
        keyspace = EtcdStoreKeyspace(root: backend.configuration.prefix, scope: scope)
    }

    /// The client, which others may share.
    public var client: EtcdConnection { backend.client }
    /// The layout, limits and page size.
    public var configuration: EtcdStoreConfiguration { backend.configuration }
    public var limits: StoreLimits { backend.configuration.limits }

    /// The etcd key that holds `key` in this scope (for tools and tests that use etcd directly).
    public func etcdKey(_ key: String) throws -> String {
        try StoreKey.validate(key)
        return keyspace.etcdKey(key)
    }

    public func scoped(_ scope: StoreScope) -> any Store {
        EtcdStore(backend: backend, scope: scope)
    }

    /// Closes the store for every scope; a client of its own is shut down. Leases of records with a TTL
    /// stay: etcd removes those records after they expire.
    public func shutdown() async {
        await backend.close()
    }

    // MARK: Reading

    public func read(_ key: String) async throws -> StoreRecord? {
        try StoreKey.validate(key)
        return try await perform("read") {
            guard let (kv, value) = try await current(key),
                  value.isLive(at: StoreClock.nowMilliseconds()) else { return nil }
            return Self.record(key, kv, value)
        }
    }

    public func read(_ query: StoreQuery) async throws -> [StoreRecord] {
        try query.validate()
        return try await perform("read") {
            try await scan(query).map { Self.record($0.key, $0.kv, $0.value) }
        }
    }

    public func list(_ query: StoreQuery) async throws -> [String] {
        try query.validate()
        return try await perform("list") {
            try await scan(query).map(\.key)
        }
    }

    // MARK: Listing

    /// The databases holding records (`<prefix><database>/…`), in ascending order.
    public func databases() async throws -> [String] {
        try await perform("databases") {
            try await names(under: Array(backend.configuration.prefix.utf8))
        }
    }

    /// The tables of this scope's database holding records (`<prefix><database>/<table>/…`), in ascending order.
    public func tables() async throws -> [String] {
        try await perform("tables") {
            try await names(under: Array("\(backend.configuration.prefix)\(scope.database)/".utf8))
        }
    }

    /// The most names ``names(under:)`` walks past (valid or not) before giving up.
    static let maxListedNames = 100_000

    /// The distinct first path components (up to the next `/`) of the etcd keys under `base`, by a skip
    /// scan: one range read of one key (keys only) per name, then a jump past every key of that name
    /// (`<base><name>0`, `0` following `/`). etcd has no "distinct"; reading every key would read the
    /// whole store. Components that no scope could be named are skipped; a key that does not sort
    /// after the last one asked for is ``MicroCore/StoreError/Code/malformed`` (what etcd answers is untrusted).
    private func names(under base: [UInt8]) async throws -> [String] {
        var names: [String] = []
        var start = base
        let end = EtcdKeyRange.prefixEnd(base)
        for _ in 0..<Self.maxListedNames {
            let page = try await backend.client.range(EtcdKeyRange(key: start, rangeEnd: end), limit: 1, keysOnly: true)
            // Keys order `a-b/…` before `a/…` ('-' sorts before '/'): names are sorted at the end.
            guard let key = page.kvs.first?.key else { return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
            guard key.starts(with: base), !key.lexicographicallyPrecedes(start) else {
                throw StoreError(.malformed, "etcd answered a key outside the range asked for: '\(StoreKey.printable(String(decoding: key, as: UTF8.self)))'")
            }
            let rest = key[base.count...]
            guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else {
                start = key + [0]  // not under a name: step just past this key
                continue
            }
            let component = rest[..<slash]
            if let name = String(validating: component, as: UTF8.self),
               let valid = try? StoreScope.validate(name, "name"), valid == name {
                names.append(name)
            }
            start = base + component + [UInt8(ascii: "0")]
        }
        throw StoreError(.tooLarge, "more than \(Self.maxListedNames) names under '\(StoreKey.printable(String(decoding: base, as: UTF8.self)))'")
    }

    /// The record under `key` as etcd holds it, live or not; nil when etcd has no such key.
    private func current(_ key: String) async throws -> (EtcdKeyValue, EtcdStoreValue)? {
        let etcdKey = keyspace.etcdKey(key)
        guard let kv = try await backend.client.get(etcdKey) else { return nil }
        guard kv.key.elementsEqual(etcdKey.utf8) else {
            throw StoreError(.malformed, "etcd answered the key '\(StoreKey.printable(kv.keyString))' for '\(StoreKey.printable(etcdKey))'")
        }
        try Self.checkRevision(kv, key)
        return (kv, try EtcdStoreValue.decode(kv.value, key: key))
    }

    /// The live records matching `query`, in key order, after the offset and up to the limit: range
    /// reads of the prefix at the first page's revision, each page bounded; read again from the start,
    /// once, when etcd compacted that revision meanwhile.
    private func scan(_ query: StoreQuery) async throws -> [(key: String, kv: EtcdKeyValue, value: EtcdStoreValue)] {
        let limit = query.limit ?? Int.max
        guard limit > 0 else { return [] }
        var pageSize = backend.configuration.pageSize
        var restarted = false
        var range = keyspace.range(prefix: query.prefix)
        var revision: Int64 = 0
        var skipped = 0
        var found: [(key: String, kv: EtcdKeyValue, value: EtcdStoreValue)] = []
        var previous: [UInt8]?
        while true {
            // Without a suffix every live key counts, so ask for no more than the page still needs.
            var ask = pageSize
            if query.suffix.isEmpty {
                let needed = (query.offset - skipped).addingReportingOverflow(limit - found.count)
                if !needed.overflow { ask = max(1, min(pageSize, needed.partialValue)) }
            }
            let page: EtcdRangeResult
            do {
                page = try await backend.client.range(range, limit: ask, revision: revision)
            } catch let error as EtcdError where error.code == .resourceExhausted && pageSize > 1 {
                pageSize /= 2  // a page too large for one response: ask for fewer keys
                continue
            } catch let error as EtcdError where error.code == .compacted && revision != 0 && !restarted {
                restarted = true
                (range, revision, skipped, found, previous) = (keyspace.range(prefix: query.prefix), 0, 0, [], nil)
                continue
            }
            if revision == 0 { revision = max(0, page.revision) }
            let now = StoreClock.nowMilliseconds()
            for kv in page.kvs {
                if let previous, !previous.lexicographicallyPrecedes(kv.key) {
                    throw StoreError(.malformed, "etcd answered a range out of key order at '\(StoreKey.printable(kv.keyString))'")
                }
                previous = kv.key
                let key = try keyspace.storeKey(kv.key)
                guard query.matches(key) else { continue }
                try Self.checkRevision(kv, key)
                let value = try EtcdStoreValue.decode(kv.value, key: key)
                guard value.isLive(at: now) else { continue }
                if skipped < query.offset {
                    skipped += 1
                    continue
                }
                found.append((key, kv, value))
                if found.count >= limit { return found }
            }
            guard page.more, let last = page.kvs.last else { return found }
            range.key = last.key + [0]  // the next page starts just after the last key read
        }
    }

    // MARK: Writing

    public func write(_ write: StoreWrite) async throws -> UInt64 {
        try write.validate(limits)
        let etcdKey = keyspace.etcdKey(write.key)
        let printable = StoreKey.printable(write.key)
        return try await perform("write") {
            var attempt = 0
            while true {
                attempt += 1
                // A condition is a comparison in the write's transaction, after a read that checks the record is live.
                var compare: EtcdCompare?
                var overExpired = false
                switch write.condition {
                case .always:
                    break
                case .ifAbsent:
                    if let (kv, value) = try await current(write.key) {
                        guard !value.isLive(at: StoreClock.nowMilliseconds()) else {
                            throw StoreError(.conflict, "'\(printable)' exists (revision \(kv.modRevision))")
                        }
                        compare = EtcdCompare(etcdKey, .modRevision(kv.modRevision), .equal)
                        overExpired = true
                    } else {
                        compare = .absent(etcdKey)
                    }
                case .ifRevision(let expected):
                    guard let (kv, value) = try await current(write.key), value.isLive(at: StoreClock.nowMilliseconds()) else {
                        throw StoreError(.conflict, "'\(printable)' does not exist (expected revision \(expected))")
                    }
                    guard UInt64(kv.modRevision) == expected else {
                        throw StoreError(.conflict, "'\(printable)' is at revision \(kv.modRevision), not \(expected)")
                    }
                    compare = EtcdCompare(etcdKey, .modRevision(kv.modRevision), .equal)
                }

                var lease: Int64 = 0
                if let ttl = write.ttl { lease = try await backend.leases.lease(for: ttl, client: backend.client) }
                // The expiry counts from after the lease was granted, so the lease outlives the record.
                let expiry = write.expiryMilliseconds(now: StoreClock.nowMilliseconds())
                let envelope = EtcdStoreValue(value: write.value, metadata: write.metadata, expiry: expiry).encoded()
                let revision: Int64
                do {
                    if let compare {
                        // Not retried on another member: a transaction whose answer was lost may have been applied.
                        let result = try await backend.client.txn(EtcdTxn(compare: [compare], success: [.put(etcdKey, envelope, lease: lease)]))
                        guard result.succeeded else {
                            // The expired record etcd held may have gone meanwhile (its lease ran out): look again.
                            if overExpired, attempt < 3 { continue }
                            throw StoreError(.conflict, write.condition == .ifAbsent
                                ? "'\(printable)' was written by someone else meanwhile"
                                : "'\(printable)' was written or deleted by someone else meanwhile")
                        }
                        revision = result.revision
                    } else {
                        revision = try await backend.client.put(etcdKey, value: envelope, lease: lease).revision
                    }
                } catch let error as EtcdError where error.code == .leaseNotFound && lease != 0 && attempt < 3 {
                    // etcd lost the shared lease (revoked by hand, or held past its end): take a new one.
                    backend.logger.debug("etcd lost a store lease, granting another", metadata: ["lease": "\(lease)"])
                    backend.leases.forget(lease)
                    continue
                }
                guard revision > 0 else { throw StoreError(.malformed, "etcd answered the write of '\(printable)' with revision \(revision)") }
                return UInt64(revision)
            }
        }
    }

    public func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try StoreKey.validate(key)
        let etcdKey = keyspace.etcdKey(key)
        let printable = StoreKey.printable(key)
        return try await perform("delete") {
            if let expected = ifRevision {
                guard let (kv, value) = try await current(key), value.isLive(at: StoreClock.nowMilliseconds()) else {
                    throw StoreError(.conflict, "'\(printable)' does not exist (expected revision \(expected))")
                }
                guard UInt64(kv.modRevision) == expected else {
                    throw StoreError(.conflict, "'\(printable)' is at revision \(kv.modRevision), not \(expected)")
                }
                let result = try await backend.client.txn(EtcdTxn(compare: [EtcdCompare(etcdKey, .modRevision(kv.modRevision), .equal)],
                                                                  success: [.delete(.key(etcdKey))]))
                guard result.succeeded else { throw StoreError(.conflict, "'\(printable)' was written or deleted by someone else meanwhile") }
                return true
            }
            let result = try await backend.client.delete(.key(etcdKey), prevKV: true)
            guard result.deleted > 0 else { return false }
            guard let previous = result.previous.first else { return true }
            // What was not a record is gone now: the delete did what was asked.
            guard let value = try? EtcdStoreValue.decode(previous.value, key: key) else { return true }
            return value.isLive(at: StoreClock.nowMilliseconds())
        }
    }

    // MARK: Plumbing

    /// Runs `body` if the store is open, turning the client's errors into ``MicroCore/StoreError``s.
    private func perform<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try backend.checkOpen()
        do {
            return try await body()
        } catch {
            throw StoreError.etcd(error, "\(operation) in \(scope)")
        }
    }

    private static func checkRevision(_ kv: EtcdKeyValue, _ key: String) throws {
        guard kv.modRevision > 0 else {
            throw StoreError(.malformed, "etcd answered '\(StoreKey.printable(key))' with revision \(kv.modRevision)")
        }
    }

    private static func record(_ key: String, _ kv: EtcdKeyValue, _ value: EtcdStoreValue) -> StoreRecord {
        StoreRecord(key: key, value: value.value, metadata: value.metadata, expiry: value.expiry.map(StoreClock.date(milliseconds:)),
                    revision: UInt64(kv.modRevision))
    }
}
