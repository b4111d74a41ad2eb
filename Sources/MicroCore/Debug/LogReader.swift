/// A follower of a ``LogBuffer``, valid inside ``LogBuffer/withReader(minimum:_:)``.
public struct LogReader: Sendable {
    let buffer: LogBuffer
    let id: Int

    /// The next records (waiting for one), nil when the reader was removed or the task cancelled.
    public func next() async -> LogBatch? {
        await buffer.next(id)
    }
}
