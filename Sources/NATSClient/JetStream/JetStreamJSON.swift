import Foundation
import NIOCore
import NIOFoundationCompat

/// The JSON of the JetStream API: shared coders, durations as Go's nanoseconds, and times as
/// RFC 3339 with up to nanoseconds.
enum JetStreamJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    static let decoder = JSONDecoder()

    /// `value` as a JSON payload.
    static func payload<Value: Encodable>(_ value: Value) throws -> ByteBuffer {
        do {
            return ByteBuffer(data: try encoder.encode(value))
        } catch {
            throw JetStreamError(.invalidArgument, "cannot encode \(Value.self) as JSON: \(error)")
        }
    }

    /// Nanoseconds of `duration` (clamped to Int64).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? Int64.min : Int64.max }
        let (total, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? Int64.min : Int64.max) : total
    }

    /// The duration of `nanoseconds`.
    static func duration(nanoseconds: Int64) -> Duration { .nanoseconds(nanoseconds) }

    /// The date of an RFC 3339 time (`2024-05-01T10:00:00.123456789Z`, an offset instead of `Z`
    /// allowed); nil for anything else. Go's zero time (`0001-01-01T00:00:00Z`) is nil too.
    static func date(rfc3339 text: String) -> Date? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count, !range.isEmpty else { return nil }
            var n = 0
            for i in range {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                fraction += Double(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start, index - start <= 9 else { return nil }
        }
        guard index < b.count else { return nil }
        var offset = 0
        if b[index] == UInt8(ascii: "Z") || b[index] == UInt8(ascii: "z") {
            index += 1
        } else if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            guard b.count == index + 6, b[index + 3] == UInt8(ascii: ":"),
                  let h = number((index + 1)..<(index + 3)), let m = number((index + 4)..<(index + 6)) else { return nil }
            offset = (h * 60 + m) * 60 * (b[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count, year > 1 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let whole = calendar.date(from: components), calendar.component(.day, from: whole) == day else { return nil }
        return Date(timeIntervalSince1970: whole.timeIntervalSince1970 - Double(offset) + fraction)
    }
}

/// A duration in JetStream's JSON: Go's `time.Duration`, an integer of nanoseconds.
struct JetStreamNanos: Codable, Sendable, Hashable {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init(from decoder: any Decoder) throws {
        duration = .nanoseconds(try decoder.singleValueContainer().decode(Int64.self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(JetStreamJSON.nanoseconds(duration))
    }
}
