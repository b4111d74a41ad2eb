/// When a stream's writer should let its event loop serve other channels: NIO runs queued tasks
/// until none are left, so a writer whose socket takes every write at once would otherwise keep the
/// loop from its selector for the whole stream. Counted in bytes, with every message costing at
/// least `minimumMessageCost` so that a flood of tiny messages pauses as often as a flood of big ones.
struct WritePacer {
    /// Bytes written between two pauses.
    static let bytesPerPause = 256 * 1024
    /// What a message counts for at least (64 messages between two pauses).
    static let minimumMessageCost = 4 * 1024
    private var sincePause = 0

    /// Counts a written message of `bytes`; true when the writer should pause now.
    mutating func wrote(_ bytes: Int) -> Bool {
        sincePause += max(bytes, Self.minimumMessageCost)
        guard sincePause >= Self.bytesPerPause else { return false }
        sincePause = 0
        return true
    }
}
