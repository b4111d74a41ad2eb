/// A model on any ``Store`` (memory, etcd, NATS key-value, ...): one record per row plus one index
/// record per indexed field, all in the model's table of the store's database.
///
/// - A row is the record `r/<key>` holding the model's JSON, its metadata naming the row's index
///   token (a random word chosen at each write that changes indexed values).
/// - An index record is `i/<field>/<value><key><token>` (``ModelIndexEncoding``: byte order is value
///   order, then key order) whose value is the row's record key. `=` and prefix filters read the index
///   records under one prefix; `<`, `<=`, `>`, `>=` read those under the range's common prefix and keep
///   the range (``Store`` reads by prefix, not by range).
/// - Writes keep the index a superset of the truth: a write first adds the index records for the new
///   values (under a new token), then writes the row conditionally (`ifAbsent`, `ifRevision`), and only
///   then deletes the index records of the old values (the old token's, which no other writer shares).
///   A crash or a failure between the steps leaves extra index records, never a missing one.
/// - Readers check every row an index leads to against all the filters, so an extra (stale) index
///   record never returns a wrong row; rows found twice are returned once.
/// - Filters on fields without an index, `!=` filters, and lists without an indexed filter read every row.
package struct KeyValueModelBackend: ModelBackend {
    /// The store, bound to the model's table.
    package let store: any Store
    package let layout: ModelLayout

    /// The longest string key, in UTF-8 bytes (so an index record's key stays within ``StoreKey/maxLength``).
    static let maxKeyBytes = 256
    /// How many times an update or delete without a revision re-reads a row that changed under it.
    static let maxAttempts = 16
    /// The metadata entry holding a row's index token.
    static let tokenMetadata = "micro-index-token"

    package init(store: any Store, layout: ModelLayout) {
        self.store = store
        self.layout = layout
    }

    // MARK: Keys

    static func recordKey(_ key: ModelValue) -> String { "r/" + ModelIndexEncoding.key(key) }

    private func indexPrefix(_ field: ModelLayout.Field) -> String { "i/" + field.name + "/" }

    private func indexKey(_ field: ModelLayout.Field, _ value: ModelValue, key: ModelValue, token: String) -> String {
        indexPrefix(field) + ModelIndexEncoding.encode(value, as: field.kind) + ModelIndexEncoding.key(key) + token
    }

    private static func newToken() -> String {
        let n = UInt64.random(in: 0...UInt64.max)
        let digits = String(n, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    // MARK: Writing

    package func create(key: ModelValue, values: [String: ModelValue], json: [UInt8]) async throws -> UInt64 {
        let token = Self.newToken()
        try await addIndex(values, key: key, token: token)
        do {
            return try await store.write(Self.recordKey(key), bytes: json, metadata: [Self.tokenMetadata: token], condition: .ifAbsent)
        } catch let error as StoreError where error.code == .conflict {
            throw StoreError(.conflict, "a \(layout.model) with key \(key) exists")
        }
    }

    package func update(key: ModelValue, values: [String: ModelValue], json: [UInt8], ifRevision: UInt64?) async throws -> UInt64 {
        let recordKey = Self.recordKey(key)
        for attempt in 1...Self.maxAttempts {
            guard let current = try await store.read(recordKey) else {
                throw StoreError(.notFound, "no \(layout.model) with key \(key)")
            }
            if let ifRevision, current.revision != ifRevision {
                throw StoreError(.conflict, "the \(layout.model) with key \(key) is at revision \(current.revision), not \(ifRevision)")
            }
            let old = try row(current.value).values
            let oldToken = current.metadata[Self.tokenMetadata] ?? ""
            let indexChanged = layout.indexes.contains { old[$0.name] != values[$0.name] }
            let token = indexChanged || oldToken.isEmpty ? Self.newToken() : oldToken
            if token != oldToken { try await addIndex(values, key: key, token: token) }
            let revision: UInt64
            do {
                revision = try await store.write(recordKey, bytes: json, metadata: [Self.tokenMetadata: token], condition: .ifRevision(current.revision))
            } catch let error as StoreError where error.code == .conflict {
                if ifRevision != nil || attempt == Self.maxAttempts {
                    throw StoreError(.conflict, "the \(layout.model) with key \(key) was written meanwhile")
                }
                continue
            }
            if token != oldToken { await removeIndex(old, key: key, token: oldToken) }
            return revision
        }
        throw StoreError(.conflict, "the \(layout.model) with key \(key) was written meanwhile")
    }

    package func delete(key: ModelValue, ifRevision: UInt64?) async throws -> Bool {
        let recordKey = Self.recordKey(key)
        for attempt in 1...Self.maxAttempts {
            guard let current = try await store.read(recordKey) else {
                if let ifRevision { throw StoreError(.conflict, "no \(layout.model) with key \(key) (expected revision \(ifRevision))") }
                return false
            }
            do {
                _ = try await store.delete(recordKey, ifRevision: ifRevision ?? current.revision)
            } catch let error as StoreError where error.code == .conflict {
                if ifRevision != nil || attempt == Self.maxAttempts { throw error }
                continue
            }
            if let old = try? row(current.value).values {
                await removeIndex(old, key: key, token: current.metadata[Self.tokenMetadata] ?? "")
            }
            return true
        }
        return false
    }

    private func addIndex(_ values: [String: ModelValue], key: ModelValue, token: String) async throws {
        let target = Array(Self.recordKey(key).utf8)
        for field in layout.indexes {
            try await store.write(indexKey(field, values[field.name] ?? .null, key: key, token: token), bytes: target)
        }
    }

    /// Deletes the index records of `values` under `token`; a failure leaves them as stale entries,
    /// which readers skip.
    private func removeIndex(_ values: [String: ModelValue], key: ModelValue, token: String) async {
        guard !token.isEmpty else { return }
        for field in layout.indexes {
            _ = try? await store.delete(indexKey(field, values[field.name] ?? .null, key: key, token: token))
        }
    }

    // MARK: Reading

    /// The field values of a row's JSON, a missing field taking the schema's default; and the JSON to
    /// decode the model from (rebuilt when a default was filled in).
    private func row(_ json: [UInt8]) throws -> (values: [String: ModelValue], json: [UInt8]) {
        var values = try layout.values(fromJSON: json)
        guard layout.needsDefaults(values) else { return (values, json) }
        for (name, value) in layout.defaults where values[name] == nil { values[name] = value }
        return (values, layout.json(from: values))
    }

    package func read(key: ModelValue) async throws -> ModelRow? {
        guard let record = try await store.read(Self.recordKey(key)) else { return nil }
        return ModelRow(json: try row(record.value).json, revision: record.revision)
    }

    package func list(_ query: ModelQuery) async throws -> [ModelRow] {
        var rows = try await matching(query.predicates)
        let key = layout.key.name
        if let order = query.order {
            rows.sort { a, b in
                let c = (a.values[order.field.name] ?? .null).compare(b.values[order.field.name] ?? .null) ?? 0
                if c != 0 { return order.descending ? c > 0 : c < 0 }
                return ((a.values[key] ?? .null).compare(b.values[key] ?? .null) ?? 0) < 0
            }
        } else {
            rows.sort { ((($0.values[key] ?? .null).compare($1.values[key] ?? .null)) ?? 0) < 0 }
        }
        let page = rows.dropFirst(query.offset).prefix(query.limit ?? Int.max)
        return page.map { ModelRow(json: $0.json, revision: $0.revision) }
    }

    package func count(_ predicates: [ModelPredicate]) async throws -> Int {
        try await matching(predicates).count
    }

    private struct Found {
        var json: [UInt8]
        var values: [String: ModelValue]
        var revision: UInt64
    }

    /// Every row meeting all `predicates`: through an index when one serves, else by reading every row.
    private func matching(_ predicates: [ModelPredicate]) async throws -> [Found] {
        var found: [Found] = []
        if let recordKeys = try await indexLookup(predicates) {
            for recordKey in recordKeys {
                guard let record = try await store.read(recordKey) else { continue }  // a stale index record
                let (values, json) = try row(record.value)
                if predicates.allSatisfy({ $0.matches(values[$0.field.name]) }) {
                    found.append(Found(json: json, values: values, revision: record.revision))
                }
            }
        } else {
            for record in try await store.read(prefix: "r/") {
                let (values, json) = try row(record.value)
                if predicates.allSatisfy({ $0.matches(values[$0.field.name]) }) {
                    found.append(Found(json: json, values: values, revision: record.revision))
                }
            }
        }
        return found
    }

    /// The record keys the index records of the best indexed predicate point to (each once), nil when no
    /// predicate has an index that serves it. Equality and prefix are preferred to ranges; the ranges of
    /// several predicates on one field are intersected.
    private func indexLookup(_ predicates: [ModelPredicate]) async throws -> [String]? {
        if let byKey = predicates.first(where: { $0.field == layout.key && $0.op == .equal }) {
            return byKey.value == .null ? [] : [Self.recordKey(byKey.value)]
        }
        if let byKey = predicates.first(where: { $0.field == layout.key && $0.op == .prefix }), case .string(let prefix) = byKey.value {
            return try await store.list(prefix: "r/" + ModelIndexEncoding.keyPrefix(prefix))
        }
        let usable = predicates.filter { p in p.op != .notEqual && layout.indexes.contains(p.field) }
        if !usable.isEmpty { try await completeIndexes() }
        guard let chosen = usable.first(where: { $0.op == .equal }) ?? usable.first(where: { $0.op == .prefix }) ?? usable.first else {
            return nil
        }
        let field = chosen.field
        let base = indexPrefix(field)
        var lower = base
        var upper: String? = StoreKey.upperBound(ofPrefix: base)
        func narrow(lower l: String, upper u: String?) {
            if StoreKey.precedes(lower, l) { lower = l }
            if let u, upper.map({ StoreKey.precedes(u, $0) }) ?? true { upper = u }
        }
        let onField = chosen.op == .equal || chosen.op == .prefix ? [chosen] : usable.filter { $0.field == field }
        for p in onField {
            switch p.op {
            case .equal:
                let prefix = base + (p.value.isTruncatedInIndex ? ModelIndexEncoding.stringPrefix(p.value.stringValue)
                    : ModelIndexEncoding.encode(p.value, as: field.kind))
                narrow(lower: prefix, upper: StoreKey.upperBound(ofPrefix: prefix))
            case .prefix:
                let prefix = base + ModelIndexEncoding.stringPrefix(p.value.stringValue)
                narrow(lower: prefix, upper: StoreKey.upperBound(ofPrefix: prefix))
            case .greater where isExact(p.value, field):
                // Past every index record of the value itself.
                let exact = base + ModelIndexEncoding.encode(p.value, as: field.kind)
                narrow(lower: StoreKey.upperBound(ofPrefix: exact) ?? exact, upper: nil)
            case .greater, .greaterOrEqual:
                narrow(lower: base + ModelIndexEncoding.lowerBound(p.value, as: field.kind), upper: nil)
            case .less where isExact(p.value, field):
                // Before every index record of the value itself.
                narrow(lower: base + ModelIndexEncoding.tag(field.kind), upper: base + ModelIndexEncoding.encode(p.value, as: field.kind))
            case .less, .lessOrEqual:
                narrow(lower: base + ModelIndexEncoding.tag(field.kind),
                       upper: StoreKey.upperBound(ofPrefix: base + ModelIndexEncoding.upperPrefix(p.value, as: field.kind)))
            case .notEqual:
                break
            }
        }
        if let upper, !StoreKey.precedes(lower, upper) { return [] }
        let prefix = Self.commonPrefix(lower, upper ?? base)
        var seen = Set<String>()
        var keys: [String] = []
        for record in try await store.read(prefix: prefix) {
            guard !StoreKey.precedes(record.key, lower), upper.map({ StoreKey.precedes(record.key, $0) }) ?? true else { continue }
            let target = String(decoding: record.value, as: UTF8.self)
            if seen.insert(target).inserted { keys.append(target) }
        }
        return keys
    }

    /// Whether `value` has the one encoding a field's equal values have (not an integer field compared
    /// with a fraction, not a string the index cuts), so a strict bound can exclude the value's records.
    private func isExact(_ value: ModelValue, _ field: ModelLayout.Field) -> Bool {
        switch (field.kind, value) {
        case (.int, .int), (.double, .double), (.bool, .bool): return true
        case (.string, .string): return !value.isTruncatedInIndex
        default: return false
        }
    }

    /// The record naming the indexes every row has entries in (comma-separated field names).
    static let indexesKey = "s/indexes"

    /// Makes sure every declared index has entries for every row: an index declared after rows were
    /// written is filled from the rows (under each row's token, so its next update replaces them), then
    /// recorded as complete.
    private func completeIndexes() async throws {
        let record = try await store.read(Self.indexesKey)
        let complete = Set(record.map { String(decoding: $0.value, as: UTF8.self).split(separator: ",").map(String.init) } ?? [])
        let missing = layout.indexes.filter { !complete.contains($0.name) }
        guard !missing.isEmpty else { return }
        for row in try await store.read(prefix: "r/") {
            guard let token = row.metadata[Self.tokenMetadata], let values = try? self.row(row.value).values,
                  let key = values[layout.key.name] else { continue }
            for field in missing {
                try await store.write(indexKey(field, values[field.name] ?? .null, key: key, token: token), bytes: Array(row.key.utf8))
            }
        }
        let names = complete.union(missing.map(\.name)).sorted().joined(separator: ",")
        _ = try? await store.write(Self.indexesKey, bytes: Array(names.utf8), condition: record.map { .ifRevision($0.revision) } ?? .ifAbsent)
    }

    /// The longest common prefix of `a` and `b`, cut on a scalar boundary.
    private static func commonPrefix(_ a: String, _ b: String) -> String {
        var out = String.UnicodeScalarView()
        for (x, y) in zip(a.unicodeScalars, b.unicodeScalars) {
            guard x == y else { break }
            out.append(x)
        }
        return String(out)
    }
}

extension ModelValue {
    fileprivate var stringValue: String {
        if case .string(let s) = self { return s }
        return ""
    }

    /// Whether an index keeps only part of this value.
    fileprivate var isTruncatedInIndex: Bool {
        if case .string(let s) = self { return s.utf8.count > ModelIndexEncoding.maxIndexedStringBytes }
        return false
    }
}
