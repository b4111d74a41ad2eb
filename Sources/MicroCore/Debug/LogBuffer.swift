import Logging
import NIOConcurrencyHelpers

/// The last log records of a process, bounded by count and by bytes (``DebugLimits``), and the
/// readers following new ones. Appending never waits: a reader that falls behind its own bounded
/// buffer loses the newest records and is told how many.
public final class LogBuffer: Sendable {
    /// The bounds it keeps to.
    public let limits: DebugLimits
    private let state: NIOLockedValueBox<State>

    private struct Reader {
        var minimum: Logger.Level?
        var pending: [LogRecord] = []
        var dropped = 0
        var waiter: CheckedContinuation<LogBatch?, Never>?
    }

    private struct State {
        var records: RingBuffer<LogRecord>
        var bytes = 0
        var evicted = 0
        var readers: [Int: Reader] = [:]
        var nextReader = 0
    }

    /// An empty buffer.
    public init(limits: DebugLimits = DebugLimits()) {
        self.limits = limits
        self.state = NIOLockedValueBox(State(records: RingBuffer(capacity: limits.logRecords)))
    }

    /// Keeps `record` (cut to the limits), dropping the oldest records as the bounds require, and hands
    /// it to every reader that wants its level.
    public func append(_ record: LogRecord) {
        let record = clipped(record)
        let size = record.byteCount
        let woken = state.withLockedValue { s -> [(CheckedContinuation<LogBatch?, Never>, LogBatch)] in
            while s.records.count > 0, s.bytes + size > limits.logBytes || s.records.count == s.records.capacity {
                if let old = s.records.removeFirst() { s.bytes -= old.byteCount; s.evicted += 1 }
            }
            if size <= limits.logBytes {
                s.records.append(record)
                s.bytes += size
            } else {
                s.evicted += 1
            }
            guard !s.readers.isEmpty else { return [] }
            var woken: [(CheckedContinuation<LogBatch?, Never>, LogBatch)] = []
            for (id, var reader) in s.readers where LogLevelFilter.admits(record.level, minimum: reader.minimum) {
                if reader.pending.count < limits.streamBuffer { reader.pending.append(record) } else { reader.dropped += 1 }
                if let waiter = reader.waiter {
                    woken.append((waiter, LogBatch(records: reader.pending, dropped: reader.dropped)))
                    reader = Reader(minimum: reader.minimum)
                }
                s.readers[id] = reader
            }
            return woken
        }
        for (waiter, batch) in woken { waiter.resume(returning: batch) }
    }

    /// The newest records, oldest first: at most `count` (capped at ``DebugLimits/logRecords``), logged
    /// at or after `since` (nanoseconds since 1970) and at least at level `minimum`.
    public func records(count: Int, since: Int64? = nil, minimum: Logger.Level? = nil) -> [LogRecord] {
        let limit = min(max(0, count), limits.logRecords)
        return state.withLockedValue { s in
            s.records.suffix(limit) { r in
                (since.map { r.time >= $0 } ?? true) && LogLevelFilter.admits(r.level, minimum: minimum)
            }
        }
    }

    /// How many records and bytes it holds, how many it has dropped to stay in bounds, and how many readers follow it.
    public var usage: (records: Int, bytes: Int, evicted: Int, readers: Int) {
        state.withLockedValue { ($0.records.count, $0.bytes, $0.evicted, $0.readers.count) }
    }

    /// Runs `body` with a reader of the records appended from now on at level `minimum` or above, removed
    /// when `body` returns. Throws ``DebugError/Code/tooManyStreams`` when ``DebugLimits/maxStreams`` already read.
    @discardableResult
    public func withReader<T: Sendable>(minimum: Logger.Level?, _ body: (LogReader) async throws -> T) async throws -> T {
        let id = try state.withLockedValue { s throws(DebugError) -> Int in
            guard s.readers.count < limits.maxStreams else {
                throw DebugError(.tooManyStreams, "\(limits.maxStreams) log streams are open already")
            }
            s.nextReader += 1
            s.readers[s.nextReader] = Reader(minimum: minimum)
            return s.nextReader
        }
        defer { remove(id) }
        return try await body(LogReader(buffer: self, id: id))
    }

    /// The reader's pending records and its count of dropped ones, waiting for at least one; nil once removed or cancelled.
    func next(_ id: Int) async -> LogBatch? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<LogBatch?, Never>) in
                let ready = state.withLockedValue { s -> LogBatch?? in
                    guard var reader = s.readers[id], !Task.isCancelled else { return .some(nil) }
                    if reader.pending.isEmpty, reader.dropped == 0 {
                        reader.waiter = continuation
                        s.readers[id] = reader
                        return .none
                    }
                    s.readers[id] = Reader(minimum: reader.minimum)
                    return .some(LogBatch(records: reader.pending, dropped: reader.dropped))
                }
                if case .some(let batch) = ready { continuation.resume(returning: batch) }
            }
        } onCancel: {
            remove(id)
        }
    }

    private func remove(_ id: Int) {
        let waiter = state.withLockedValue { $0.readers.removeValue(forKey: id)?.waiter }
        waiter?.resume(returning: nil)
    }

    private func clipped(_ record: LogRecord) -> LogRecord {
        var r = record
        r.message = limits.clip(r.message)
        r.label = limits.clip(r.label)
        r.source = limits.clip(r.source)
        if r.metadata.count > limits.maxEntries || r.metadata.contains(where: { $0.key.utf8.count + $0.value.utf8.count > limits.maxFieldBytes }) {
            var kept: [String: String] = [:]
            for key in r.metadata.keys.sorted().prefix(limits.maxEntries) { kept[limits.clip(key)] = limits.clip(r.metadata[key]!) }
            r.metadata = kept
        }
        return r
    }
}
