import Foundation

/// A service's log: its stdout and stderr appended to `<name>.log`, rotated by size (copied to
/// `<name>.log.1`, older ones shifted up to ``keep``, then truncated: the service's descriptor is in
/// append mode, so it goes on writing at the new end and nothing needs to reopen it).
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

    /// Rotates when the file is larger than ``maxBytes``.
    func rotateIfNeeded() {
        guard size > maxBytes else { return }
        let fm = FileManager.default
        if keep > 0 {
            try? fm.removeItem(atPath: "\(path).\(keep)")
            for n in stride(from: keep - 1, through: 1, by: -1) { try? fm.moveItem(atPath: "\(path).\(n)", toPath: "\(path).\(n + 1)") }
            try? fm.copyItem(atPath: path, toPath: "\(path).1")
        }
        if let handle = FileHandle(forWritingAtPath: path) {
            try? handle.truncate(atOffset: 0)
            try? handle.close()
        }
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

    /// The last `count` lines (reading at most the last `maxBytes` bytes) and the offset reached.
    func lastLines(_ count: Int, maxBytes: Int = 1 << 20) -> (lines: [String], offset: UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], 0) }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let start = end > UInt64(maxBytes) ? end - UInt64(maxBytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: Int(end - start))) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if start > 0, !lines.isEmpty { lines.removeFirst() }   // a partial first line
        return (Array(lines.suffix(max(0, count))), end)
    }

    /// Complete lines written since `offset` (from the start again when the file was rotated) and the
    /// offset after them; at most `maxBytes` read per call.
    func lines(after offset: UInt64, maxBytes: Int = 1 << 20) -> (lines: [String], offset: UInt64) {
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
