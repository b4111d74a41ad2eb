import Foundation
import Logging

/// A swift-log handler that keeps every record it is given in a ``LogBuffer`` and passes it on to the
/// handler the logger had before, so `Debug.Log` sees what the service's own output shows.
public struct DebugLogHandler: LogHandler {
    /// Where records are kept.
    public let buffer: LogBuffer
    /// The logger's label.
    public let label: String
    private var upstream: any LogHandler

    /// A handler teeing into `buffer` and on to `upstream`; level and metadata are `upstream`'s.
    public init(label: String, buffer: LogBuffer, upstream: any LogHandler) {
        self.label = label
        self.buffer = buffer
        self.upstream = upstream
    }

    /// `logger` with its handler teeing into `buffer`.
    public static func tee(_ logger: Logger, into buffer: LogBuffer) -> Logger {
        if let existing = logger.handler as? DebugLogHandler, existing.buffer === buffer { return logger }
        let upstream = logger.handler
        return Logger(label: logger.label) { label in DebugLogHandler(label: label, buffer: buffer, upstream: upstream) }
    }

    public func log(event: LogEvent) {
        upstream.log(event: event)
        var metadata: [String: String] = [:]
        for (k, v) in upstream.metadata { metadata[k] = "\(v)" }
        if let provided = upstream.metadataProvider?.get() { for (k, v) in provided { metadata[k] = "\(v)" } }
        if let own = event.metadata { for (k, v) in own { metadata[k] = "\(v)" } }
        let nanos = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        buffer.append(LogRecord(time: nanos, level: event.level.rawValue, label: label, message: event.message.description,
                                metadata: metadata, source: event.source))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: key] }
        set { upstream[metadataKey: key] = newValue }
    }

    public var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { upstream.metadataProvider }
        set { upstream.metadataProvider = newValue }
    }

    public var logLevel: Logger.Level {
        get { upstream.logLevel }
        set { upstream.logLevel = newValue }
    }
}
