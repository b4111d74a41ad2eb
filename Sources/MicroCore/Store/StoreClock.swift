import Foundation

/// Wall time as stores keep it: whole milliseconds since 1970, so an expiry persists and reads back
/// the same in every backend.
public enum StoreClock {
    /// Now, in milliseconds since 1970.
    public static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// The date of `milliseconds` since 1970.
    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` in whole milliseconds since 1970 (rounded to the nearest).
    public static func milliseconds(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        guard ms.isFinite else { return ms > 0 ? Int64.max : Int64.min }
        if ms >= 9.2e18 { return Int64.max }
        if ms <= -9.2e18 { return Int64.min }
        return Int64(ms)
    }
}
