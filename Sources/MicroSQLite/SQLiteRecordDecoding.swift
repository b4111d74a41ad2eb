import MicroCore
import SQLiteNIO

/// Rows read back from a store table, checked column by column: a row that is not a record (a key that
/// is not text, a value that is not a blob, metadata that is not a JSON object of strings, a revision
/// that is not a positive integer) is ``StoreError/Code/malformed``, never a crash or a guess.
enum SQLiteRecordDecoding {
    static func record(_ row: SQLiteRow) throws -> StoreRecord {
        let key = try self.key(row)
        guard case .blob(let buffer)? = row.column("value") else {
            throw StoreError(.malformed, "the value of '\(key)' is not a blob")
        }
        guard case .text(let json)? = row.column("metadata") else {
            throw StoreError(.malformed, "the metadata of '\(key)' is not text")
        }
        let metadata = try StoreMetadataCoding.decode(Array(json.utf8), key: key)
        let expiry: Int64?
        switch row.column("expiry") {
        case .null?: expiry = nil
        case .integer(let ms)?: expiry = Int64(ms)
        default: throw StoreError(.malformed, "the expiry of '\(key)' is not an integer")
        }
        guard case .integer(let revision)? = row.column("revision"), revision > 0 else {
            throw StoreError(.malformed, "the revision of '\(key)' is not a positive integer")
        }
        return StoreRecord(key: key, value: Array(buffer.readableBytesView), metadata: metadata,
                           expiry: expiry.map { StoreClock.date(milliseconds: $0) }, revision: UInt64(revision))
    }

    static func key(_ row: SQLiteRow) throws -> String {
        guard case .text(let key)? = row.column("key") else {
            throw StoreError(.malformed, "a row's key is not text")
        }
        return key
    }
}
