import Logging
import Synchronization

/// A log handler that keeps every record it is given, for tests that check what was logged and at
/// which level. ``logger`` writes here.
public final class LogCapture: LogHandler, Sendable {
    /// One logged record.
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    private let kept = Mutex<[Record]>([])

    /// An empty capture.
    public init() {}

    /// A logger (at level trace) whose records land here.
    public var logger: Logger { Logger(label: "test") { _ in self } }

    /// Everything logged so far, in order.
    public var records: [Record] { kept.withLock { $0 } }

    /// The records at `level` or above, each as `message key=value ...` (keys sorted).
    public func lines(atLeast level: Logger.Level) -> [String] {
        records.filter { $0.level >= level }.map { record in
            ([record.message] + record.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    public var metadata: Logger.Metadata { get { [:] } set {} }
    public var logLevel: Logger.Level { get { .trace } set {} }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { nil } set {} }

    public func log(event: LogEvent) {
        kept.withLock { $0.append(Record(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:])) }
    }
}
