import Foundation

/// Tells one process from another that later got the same pid: its start time in clock ticks since
/// boot, field 22 of `/proc/PID/stat`. A zombie counts as ended.
enum ProcessIdentity {
    /// The start time of the live (not zombie) process `pid`, nil when there is none.
    static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"), data.count < 4096 else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name (field 2) is in parentheses and may hold spaces or parentheses: fields follow the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so field 22 is fields[19].
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    /// Whether `pid` is still the process that started at `startTime`.
    static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        self.startTime(of: pid) == startTime
    }
}
