import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `/proc` says about another process: its CPU time, resident memory and threads. A process
/// that has ended (or a line the kernel does not print) reads as NaN or 0, never a crash.
struct ProcessProbe: Sendable {
    let pid: Int32

    /// User + system CPU seconds so far (`/proc/PID/stat` fields 14 and 15, at the kernel's tick).
    func cpuSeconds() -> Double {
        guard let stat = Self.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return .nan }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return .nan }
        return Double(user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// `/proc/PID/status` sizes in KiB by name (`VmRSS`, `VmHWM`, `RssAnon`, `RssFile`, ...) and `Threads`.
    func status() -> [String: Int] { Self.keyed(file: "/proc/\(pid)/status") }

    /// `/proc/PID/smaps_rollup` totals in KiB by name (`Rss`, `Pss`, `Anonymous`, `Private_Dirty`, ...).
    func smapsRollup() -> [String: Int] { Self.keyed(file: "/proc/\(pid)/smaps_rollup") }

    /// Resident memory in MiB (`VmRSS`); NaN when the process is gone.
    func residentMiB() -> Double { status()["VmRSS"].map { Double($0) / 1024 } ?? .nan }

    /// Resident memory by mapping from `/proc/PID/smaps`, largest first: name (a path, `[heap]`,
    /// `[stack]`, or `anon` for unnamed ones) and resident KiB summed over that name's mappings.
    func residentByMapping(top: Int) -> [(name: String, kib: Int)] {
        guard let text = Self.read("/proc/\(pid)/smaps") else { return [] }
        var sums: [String: Int] = [:]
        var current = "anon"
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first else { continue }
            if first.contains("-"), fields.count >= 5 {   // a mapping's header: range perms offset dev inode [name]
                current = fields.count >= 6 ? fields[5...].joined(separator: " ") : "anon"
            } else if first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                sums[current, default: 0] += kib
            }
        }
        return sums.map { (name: $0.key, kib: $0.value) }.sorted { $0.kib > $1.kib }.prefix(top).map { $0 }
    }

    /// The number of mappings whose size is exactly `kib` KiB and that are anonymous: e.g. thread stacks or
    /// allocator arenas of one size.
    func anonymousMappings() -> [Int: Int] {
        guard let text = Self.read("/proc/\(pid)/maps") else { return [:] }
        var counts: [Int: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 5, let range = fields.first?.split(separator: "-"), range.count == 2,
                  let low = UInt64(range[0], radix: 16), let high = UInt64(range[1], radix: 16), high > low else { continue }
            counts[Int((high - low) / 1024), default: 0] += 1
        }
        return counts
    }

    /// `Name:   123 kB` lines as name → 123.
    private static func keyed(file: String) -> [String: Int] {
        guard let text = read(file) else { return [:] }
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            if let value, let n = Int(value) { values[String(line[..<colon])] = n }
        }
        return values
    }

    /// A `/proc` file read to its end with read(2) (Foundation stops early on files whose size reads as 0),
    /// at most 64 MiB; nil when it cannot be opened.
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < 64 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
