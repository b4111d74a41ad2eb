import Foundation
import NIOConcurrencyHelpers

/// One table of a ``MemoryStore``: a dictionary of records by key bytes for reads by key, and the
/// keys in byte order for prefix reads and lists, behind one lock.
final class MemoryStoreTable: Sendable {
    /// A key hashed and compared as its UTF-8 bytes (Swift's `String` equality is canonical
    /// equivalence, which would merge keys that every other backend keeps apart).
    struct Key: Hashable, Sendable {
        let string: String

        static func == (a: Key, b: Key) -> Bool {
            let x = a.string.utf8, y = b.string.utf8
            guard x.count == y.count else { return false }
            let fast = x.withContiguousStorageIfAvailable { p in
                y.withContiguousStorageIfAvailable { q in p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 }
            }
            return (fast ?? nil) ?? x.elementsEqual(y)
        }

        func hash(into hasher: inout Hasher) {
            let done: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            if done == nil { for byte in string.utf8 { hasher.combine(byte) } }
        }
    }

    /// A record as reads return it, with its expiry in milliseconds for the liveness checks.
    struct Entry: Sendable {
        var record: StoreRecord
        var expiry: Int64?

        var revision: UInt64 { record.revision }

        init(key: String, value: [UInt8], metadata: [String: String], expiry: Int64?, revision: UInt64) {
            self.record = StoreRecord(key: key, value: value, metadata: metadata,
                                      expiry: expiry.map { StoreClock.date(milliseconds: $0) }, revision: revision)
            self.expiry = expiry
        }

        func isLive(at now: Int64) -> Bool { expiry.map { $0 > now } ?? true }
    }

    struct State: Sendable {
        var entries: [Key: Entry] = [:]
        /// Every key of `entries`, in byte order.
        var sorted: [Key] = []
        /// The last revision given; never goes back, so no revision is reused after a delete.
        var sequence: UInt64 = 0
        /// The earliest expiry of any entry (or earlier), to know when a sweep has work.
        var earliestExpiry: Int64?
        var writesSinceSweep = 0

        /// The index of the first key not before `key` in byte order.
        func lowerBound(_ key: String) -> Int {
            var low = 0, high = sorted.count
            while low < high {
                let mid = (low + high) / 2
                if StoreKey.precedes(sorted[mid].string, key) { low = mid + 1 } else { high = mid }
            }
            return low
        }

        mutating func remove(_ key: Key) {
            guard entries.removeValue(forKey: key) != nil else { return }
            let index = lowerBound(key.string)
            if index < sorted.count, sorted[index] == key { sorted.remove(at: index) }
        }

        /// Drops expired entries once enough writes have passed since the last sweep.
        mutating func sweepIfDue(now: Int64) {
            writesSinceSweep += 1
            guard let earliest = earliestExpiry, earliest <= now, writesSinceSweep >= 64 else { return }
            writesSinceSweep = 0
            var next: Int64?
            entries = entries.filter { _, entry in
                guard let expiry = entry.expiry else { return true }
                if expiry <= now { return false }
                next = min(next ?? expiry, expiry)
                return true
            }
            sorted.removeAll { entries[$0] == nil }
            earliestExpiry = next
        }

        /// The live entries matching `query`, in key order, after offset and limit.
        func matching(_ query: StoreQuery, now: Int64) -> [(Key, Entry)] {
            var result: [(Key, Entry)] = []
            var skipped = 0
            let limit = query.limit ?? Int.max
            guard limit > 0 else { return result }
            var index = query.prefix.isEmpty ? 0 : lowerBound(query.prefix)
            while index < sorted.count {
                let key = sorted[index]
                index += 1
                if !query.prefix.isEmpty, !key.string.utf8.starts(with: query.prefix.utf8) { break }
                guard query.matches(key.string), let entry = entries[key], entry.isLive(at: now) else { continue }
                if skipped < query.offset { skipped += 1; continue }
                result.append((key, entry))
                if result.count == limit { break }
            }
            return result
        }
    }

    let state = NIOLockedValueBox(State())
}
