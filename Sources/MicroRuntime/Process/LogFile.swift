import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A service's log: its stdout and stderr appended to `<name>.log` by the service itself (its own
/// descriptor, in append mode, so it outlives the runtime), rotated by size without losing a line:
/// the file's head, up to a block boundary, is copied to `<name>.log.1` (older ones shifted up to
/// ``keep``) and then cut out of the live file in place (`fallocate` `COLLAPSE_RANGE`), so what the
/// service writes meanwhile stays in the live file. Where the file system cannot collapse (or the
/// file is smaller than a block) the live file is renamed to `.1` and a new one begun; the service's
/// descriptor follows the renamed file, so its lines go on there until it restarts: none is lost.
/// Offsets given to followers are logical (bytes since the log began; `<name>.log.base` holds how
/// many were rotated away), so a follower reads on across a rotation without repeating a line.
struct LogFile: Sendable {
    /// The live file's path.
    var path: String
    /// The size past which it is rotated.
    var maxBytes: UInt64
    /// How many rotated files are kept.
    var keep: Int

    /// The current size (0 when there is no file).
    var size: UInt64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// glibc's `FALLOC_FL_COLLAPSE_RANGE` (not imported into Swift's Glibc module).
    private static let collapseRange: Int32 = 0x08

    /// glibc's `fallocate` (declared only under `_GNU_SOURCE`, so not imported either), looked up once.
    private static let fallocate: (@convention(c) (Int32, Int32, Int64, Int64) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, Int64, Int64) -> Int32).self)
    }()

    /// Bytes rotated away from the front of the log since it began.
    var base: UInt64 {
        guard let data = FileManager.default.contents(atPath: path + ".base"), data.count < 32 else { return 0 }
        return UInt64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    private func addToBase(_ count: UInt64) {
        let temporary = path + ".base.tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(String(base + count).utf8)) else { return }
        _ = rename(temporary, path + ".base")
    }

    /// Rotates when the file is larger than ``maxBytes``.
    func rotateIfNeeded() {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_size) > maxBytes else { return }
        let fm = FileManager.default
        if keep > 0 {
            try? fm.removeItem(atPath: "\(path).\(keep)")
            for n in stride(from: keep - 1, through: 1, by: -1) { try? fm.moveItem(atPath: "\(path).\(n)", toPath: "\(path).\(n + 1)") }
        }
        // The head to cut: whole blocks, short of the end (a collapse may not reach it).
        let block = max(Int64(st.st_blksize), 512)
        let cut = (Int64(st.st_size) - 1) / block * block
        if cut > 0, keep == 0 || copyHead(fd, count: Int(cut), to: "\(path).1"), Self.fallocate?(fd, Self.collapseRange, 0, cut) == 0 {
            addToBase(UInt64(cut))
            return
        }
        // No collapse here: the whole file becomes `.1` (or goes), and a new one begins.
        let size = UInt64(st.st_size)
        if keep > 0 { _ = rename(path, "\(path).1") } else { _ = unlink(path) }
        _ = fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        addToBase(size)
    }

    /// Copies the first `count` bytes of `fd` to `destination` (written aside, then renamed).
    private func copyHead(_ fd: Int32, count: Int, to destination: String) -> Bool {
        let temporary = destination + ".tmp"
        let out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard out >= 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var copied = 0
        while copied < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min($0.count, count - copied), off_t(copied)) }
            guard n > 0, buffer.withUnsafeBytes({ write(out, $0.baseAddress, n) }) == n else { break }
            copied += n
        }
        close(out)
        guard copied == count, rename(temporary, destination) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }

    /// Appends a line of the runtime's own (a build's header, a restart).
    func note(_ line: String) {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            try? fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data("[runtime] \(line)\n".utf8))
    }

    /// The last `count` lines (reading at most the last `maxBytes` bytes) and the (logical) offset reached.
    func lastLines(_ count: Int, maxBytes: Int = 1 << 20) -> (lines: [String], offset: UInt64) {
        let base = self.base
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], base) }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let start = end > UInt64(maxBytes) ? end - UInt64(maxBytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: Int(end - start))) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if start > 0, !lines.isEmpty { lines.removeFirst() }   // a partial first line
        return (Array(lines.suffix(max(0, count))), base + end)
    }

    /// Complete lines written since the logical `offset` (what was rotated away meanwhile is skipped;
    /// from the start again when the file was cut by something else) and the offset after them; at
    /// most `maxBytes` read per call.
    func lines(after logicalOffset: UInt64, maxBytes: Int = 1 << 20) -> (lines: [String], offset: UInt64) {
        let base = self.base
        let (lines, offset) = physicalLines(after: logicalOffset > base ? logicalOffset - base : 0, maxBytes: maxBytes)
        return (lines, base + offset)
    }

    private func physicalLines(after offset: UInt64, maxBytes: Int) -> (lines: [String], offset: UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], 0) }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let from = end < offset ? 0 : offset
        guard end > from else { return ([], from) }
        try? handle.seek(toOffset: from)
        let data = (try? handle.read(upToCount: min(maxBytes, Int(end - from)))) ?? Data()
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else {
            // No complete line yet; a line longer than the read is passed on as it is.
            return data.count >= maxBytes ? ([String(decoding: data, as: UTF8.self)], from + UInt64(data.count)) : ([], from)
        }
        let complete = data[data.startIndex..<lastNewline]
        let lines = String(decoding: complete, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (lines, from + UInt64(lastNewline - data.startIndex + 1))
    }
}
