import Foundation

/// What Linux's `/proc/self` says of this process: resident memory, CPU time, threads, open files.
/// Fields that cannot be read (another OS, a restricted `/proc`) are 0.
package struct ProcessStats: Sendable {
    package var residentBytes: Int64 = 0
    package var cpuUserSeconds: Double = 0
    package var cpuSystemSeconds: Double = 0
    package var threads: Int = 0
    package var openFiles: Int = 0

    /// Reads the figures now.
    package static func current() -> ProcessStats {
        var stats = ProcessStats()
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // After "pid (comm)": state is field 3; utime 14, stime 15, num_threads 20, rss 24 (1-based).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ n: Int) -> Int64 { n - 3 < fields.count ? Int64(fields[n - 3]) ?? 0 : 0 }
            let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
            stats.cpuUserSeconds = Double(field(14)) / ticks
            stats.cpuSystemSeconds = Double(field(15)) / ticks
            stats.threads = Int(field(20))
            stats.residentBytes = field(24) * Int64(max(1, sysconf(Int32(_SC_PAGESIZE))))
        }
        stats.openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count).map { max(0, $0 - 1) } ?? 0
        return stats
    }
}
