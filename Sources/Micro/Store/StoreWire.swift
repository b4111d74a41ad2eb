import Foundation
import MicroCore
import SwiftProtobuf

/// How store values travel in go-micro's store service messages (`Protos/Micro/go/micro/store`), both
/// ways: what ``StoreHandler`` and ``RemoteStore`` share.
enum StoreWire {
    /// A record as a message: go-micro's remaining lifetime in whole seconds (rounded up, so a live
    /// record never reads as lasting forever), metadata as string fields, and Swift Micro's revision and
    /// exact expiry.
    static func message(_ record: StoreRecord, now: Int64) -> Go_Micro_Store_Record {
        var message = Go_Micro_Store_Record()
        message.key = record.key
        message.value = Data(record.value)
        for (name, value) in record.metadata {
            message.metadata[name] = Go_Micro_Store_Field.with { $0.type = "string"; $0.value = value }
        }
        message.revision = record.revision
        if let expiry = record.expiry {
            let ms = StoreClock.milliseconds(expiry)
            message.expiresAtMs = ms
            message.expiry = max(1, (ms - now + 999) / 1000)
        }
        return message
    }

    /// A message as a record: the exact expiry when the sender gave one, else go-micro's seconds from `now`.
    static func record(_ message: Go_Micro_Store_Record, now: Int64) -> StoreRecord {
        var expiry: Date?
        if message.expiresAtMs > 0 {
            expiry = StoreClock.date(milliseconds: message.expiresAtMs)
        } else if message.expiry > 0 {
            let (ms, overflow) = message.expiry.multipliedReportingOverflow(by: 1000)
            expiry = StoreClock.date(milliseconds: overflow ? Int64.max : now &+ ms)
        }
        return StoreRecord(key: message.key, value: Array(message.value), metadata: message.metadata.mapValues(\.value),
                           expiry: expiry, revision: message.revision)
    }

    /// A condition as a message (nil for ``StoreCondition/always``).
    static func message(_ condition: StoreCondition) -> Go_Micro_Store_Condition? {
        switch condition {
        case .always: return nil
        case .ifAbsent: return .with { $0.ifAbsent = true }
        case .ifRevision(let revision): return .with { $0.ifRevision = revision }
        }
    }

    /// A duration in nanoseconds (Go's `time.Duration`), at least 1 for a positive one, saturating.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (total, overflow2) = whole.addingReportingOverflow((attoseconds + 999_999_999) / 1_000_000_000)
        if overflow2 { return Int64.max }
        return total == 0 && duration > .zero ? 1 : total
    }

    /// A duration in whole seconds, rounded up (go-micro's `Record.expiry` of a write).
    static func seconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return attoseconds > 0 && seconds < Int64.max ? seconds + 1 : seconds
    }

    /// A `uint64` count of go-micro's (limit, offset) as an `Int`, saturating.
    static func count(_ value: UInt64) -> Int {
        value > UInt64(Int.max) ? Int.max : Int(value)
    }
}
