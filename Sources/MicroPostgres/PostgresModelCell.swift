import MicroCore
import NIOCore
import PostgresNIO

/// One cell of a model's row read as the value its field holds, checked against the column type the
/// backend made for the field's kind (``PostgresModelTable/columnType(_:)``): a cell of another type
/// (a column altered by hand), text that is not UTF-8 or JSON that does not parse is
/// ``StoreError/Code/malformed``, never a guess or a crash.
enum PostgresModelCell {
    static func value(_ cell: PostgresCell, kind: ModelFieldKind, column: String, _ layout: ModelLayout) throws -> ModelValue {
        guard var bytes = cell.bytes else { return .null }
        func malformed(_ what: String) -> StoreError {
            StoreError(.malformed, "column '\(column)' of a \(layout.model) row \(what) (type \(cell.dataType), \(cell.format))")
        }
        switch (kind, cell.dataType, cell.format) {
        case (.int, .int8, .binary):
            guard bytes.readableBytes == 8, let i = bytes.readInteger(as: Int64.self) else { throw malformed("is not a bigint") }
            return .int(i)
        case (.int, .int8, .text):
            guard let i = Int64(text(bytes) ?? "") else { throw malformed("is not a bigint") }
            return .int(i)
        case (.double, .float8, .binary):
            guard bytes.readableBytes == 8, let bits = bytes.readInteger(as: UInt64.self) else { throw malformed("is not a double") }
            return .double(Double(bitPattern: bits))
        case (.double, .float8, .text):
            guard let d = Double(text(bytes) ?? "") else { throw malformed("is not a double") }
            return .double(d)
        case (.bool, .bool, .binary):
            guard bytes.readableBytes == 1, let b = bytes.readInteger(as: UInt8.self), b <= 1 else { throw malformed("is not a boolean") }
            return .bool(b == 1)
        case (.bool, .bool, .text):
            switch text(bytes) {
            case "t": return .bool(true)
            case "f": return .bool(false)
            default: throw malformed("is not a boolean")
            }
        case (.string, .text, _), (.string, .varchar, _):
            guard let s = text(bytes) else { throw malformed("is not UTF-8 text") }
            return .string(s)
        case (.json, .json, _), (.json, .jsonb, .text), (.json, .text, _):
            return .json(try json(bytes, malformed))
        case (.json, .jsonb, .binary):
            guard bytes.readInteger(as: UInt8.self) == 1 else { throw malformed("is jsonb of an unknown version") }
            return .json(try json(bytes, malformed))
        default:
            throw malformed("does not hold \(kind == .int ? "an" : "a") \(kind)")
        }
    }

    private static func text(_ bytes: ByteBuffer) -> String? {
        String(validating: bytes.readableBytesView, as: UTF8.self)
    }

    /// The JSON text in `bytes`, checked to be one whole JSON value (it is spliced into the row's JSON).
    private static func json(_ bytes: ByteBuffer, _ malformed: (String) -> StoreError) throws -> String {
        let raw = Array(bytes.readableBytesView)
        do { _ = try JSONTape(raw) } catch { throw malformed("is not JSON: \(error)") }
        guard let text = String(validating: raw, as: UTF8.self) else { throw malformed("is not UTF-8 JSON") }
        return text
    }
}
