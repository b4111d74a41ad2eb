/// Splits a pod log's bytes, as they arrive, into lines: `\n` (and a `\r` before it) removed, bytes
/// that are not UTF-8 replaced, and a line longer than the limit cut there (marked `…`), the rest of it
/// dropped, so an answer without newlines holds at most one line's bytes.
struct LogLineSplitter: Sendable {
    let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var cutting = false

    init(maxLineBytes: Int) { self.maxLineBytes = max(1, maxLineBytes) }

    /// The lines `bytes` completes.
    mutating func append(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !cutting { lines.append(Self.text(pending)) }
                pending.removeAll(keepingCapacity: true)
                cutting = false
            } else if !cutting {
                pending.append(byte)
                if pending.count >= maxLineBytes {
                    lines.append(Self.text(pending) + "…")
                    pending.removeAll(keepingCapacity: true)
                    cutting = true
                }
            }
        }
        return lines
    }

    /// The last line, when the answer did not end with a newline.
    mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty || cutting ? nil : Self.text(pending)
    }

    private static func text(_ bytes: [UInt8]) -> String {
        var line = bytes[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        return String(decoding: line, as: UTF8.self)
    }
}
