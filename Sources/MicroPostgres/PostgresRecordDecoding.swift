import MicroCore
import NIOCore
import PostgresNIO

/// Rows read back from a store table, checked cell by cell against the table's column types: a row
/// that is not a record (a column of another type than the store created, metadata that is not a JSON
/// object of strings, a revision that is not positive, a value that is NULL) is
/// ``StoreError/Code/malformed``, never a crash or a guess.
enum PostgresRecordDecoding {
    static func record(_ row: PostgresRow) throws -> StoreRecord {
        // The cells in place, without collecting them into an array first.
        var iterator = row.makeIterator()
        guard let c0 = iterator.next(), let c1 = iterator.next(), let c2 = iterator.next(), let c3 = iterator.next(),
              let c4 = iterator.next(), iterator.next() == nil else {
            throw StoreError(.malformed, "a row has \(row.count) columns, not 5")
        }
        let cells = (c0, c1, c2, c3, c4)
        let key = try self.key(cells.0)
        let printable = StoreKey.printable(key)
        guard let value = cells.1.bytes, cells.1.dataType == .bytea, cells.1.format == .binary else {
            throw StoreError(.malformed, "the value of '\(printable)' is not bytea (\(describe(cells.1)))")
        }
        guard let json = cells.2.bytes, cells.2.dataType == .text || cells.2.dataType == .varchar else {
            throw StoreError(.malformed, "the metadata of '\(printable)' is not text (\(describe(cells.2)))")
        }
        let metadata = json.readableBytesView.elementsEqual("{}".utf8) ? [:] : try StoreMetadataCoding.decode(Array(json.readableBytesView), key: key)
        let expiry: Int64?
        if cells.3.bytes == nil {
            expiry = nil
        } else {
            guard let ms = integer(cells.3) else {
                throw StoreError(.malformed, "the expiry of '\(printable)' is not a bigint (\(describe(cells.3)))")
            }
            expiry = ms
        }
        guard let revision = integer(cells.4), revision > 0 else {
            throw StoreError(.malformed, "the revision of '\(printable)' is not a positive bigint (\(describe(cells.4)))")
        }
        return StoreRecord(key: key, value: Array(value.readableBytesView), metadata: metadata,
                           expiry: expiry.map { StoreClock.date(milliseconds: $0) }, revision: UInt64(revision))
    }

    /// The key of a row whose first column is the key.
    static func key(_ row: PostgresRow) throws -> String {
        guard let first = row.first else { throw StoreError(.malformed, "a row has no columns") }
        return try key(first)
    }

    /// The single `revision` a `RETURNING revision` row holds, checked positive.
    static func revision(_ row: PostgresRow, key: String) throws -> UInt64 {
        guard let cell = row.first, let revision = integer(cell), revision > 0 else {
            throw StoreError(.malformed, "the revision written for '\(StoreKey.printable(key))' is not a positive bigint")
        }
        return UInt64(revision)
    }

    /// The `expiry` a `RETURNING expiry` row holds: nil for none.
    static func expiry(_ row: PostgresRow, key: String) throws -> Int64? {
        guard let cell = row.first else { throw StoreError(.malformed, "a deleted row has no columns") }
        if cell.bytes == nil { return nil }
        guard let ms = integer(cell) else {
            throw StoreError(.malformed, "the deleted row of '\(StoreKey.printable(key))' has an expiry that is not a bigint")
        }
        return ms
    }

    private static func key(_ cell: PostgresCell) throws -> String {
        guard let bytes = cell.bytes, cell.dataType == .text || cell.dataType == .varchar else {
            throw StoreError(.malformed, "a row's key is not text (\(describe(cell)))")
        }
        guard let key = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw StoreError(.malformed, "a row's key is not UTF-8")
        }
        return key
    }

    /// A non-NULL `bigint` cell's value (binary or text format); nil for anything else.
    private static func integer(_ cell: PostgresCell) -> Int64? {
        guard var bytes = cell.bytes, cell.dataType == .int8 else { return nil }
        switch cell.format {
        case .binary:
            guard bytes.readableBytes == 8 else { return nil }
            return bytes.readInteger(as: Int64.self)
        case .text:
            return bytes.readString(length: bytes.readableBytes).flatMap { Int64($0) }
        }
    }


    private static func describe(_ cell: PostgresCell) -> String {
        cell.bytes == nil ? "NULL" : "type \(cell.dataType)"
    }
}
