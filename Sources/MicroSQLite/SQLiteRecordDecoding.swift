import MicroCore
import SQLiteNIO

/// Rows read back from a store table, checked column by column: a row that is not a record (a key that
/// is not text, a value that is not a blob, metadata that is not a JSON object of strings, a revision
/// that is not a positive integer) is ``StoreError/Code/malformed``, never a crash or a guess.
enum SQLiteRecordDecoding {
    /// A row of `SELECT key, value, metadata, expiry, revision` (the columns in that order, read by
    /// position: one pass instead of a lookup by name per column).
    static func record(_ row: SQLiteRow) throws -> StoreRecord {
        let columns = row.columns
        guard columns.count == 5 else { throw StoreError(.malformed, "a record row has \(columns.count) columns, not 5") }
        guard case .text(let key) = columns[0].data else {
            throw StoreError(.malformed, "a row's key is not text")
        }
        guard case .blob(let buffer) = columns[1].data else {
            throw StoreError(.malformed, "the value of '\(key)' is not a blob")
        }
        guard case .text(let json) = columns[2].data else {
            throw StoreError(.malformed, "the metadata of '\(key)' is not text")
        }
        // Most records carry no metadata: skip the parser for the empty object.
        let metadata = json == "{}" ? [:] : try StoreMetadataCoding.decode(Array(json.utf8), key: key)
        let expiry: Int64?
        switch columns[3].data {
        case .null: expiry = nil
        case .integer(let ms): expiry = Int64(ms)
        default: throw StoreError(.malformed, "the expiry of '\(key)' is not an integer")
        }
        guard case .integer(let revision) = columns[4].data, revision > 0 else {
            throw StoreError(.malformed, "the revision of '\(key)' is not a positive integer")
        }
        return StoreRecord(key: key, value: Array(buffer.readableBytesView), metadata: metadata,
                           expiry: expiry.map { StoreClock.date(milliseconds: $0) }, revision: UInt64(revision))
    }

    /// The key of a row of `SELECT key`.
    static func key(_ row: SQLiteRow) throws -> String {
        guard case .text(let key)? = row.column("key") else {
            throw StoreError(.malformed, "a row's key is not text")
        }
        return key
    }
}
