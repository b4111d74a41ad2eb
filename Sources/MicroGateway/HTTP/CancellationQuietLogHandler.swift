import Logging

/// Passes every record on to another handler, except the two lines Hummingbird's server logs at error
/// level when its task is cancelled (how a structured owner stops it, and no failure): `Waiting on child
/// channel: CancellationError()`, and `Server shutdown error: Already closed` from the graceful
/// shutdown that the cancellation overtook. Those are passed on at debug level. A graceful shutdown
/// alone (SIGTERM in `micro api`) logs neither.
struct CancellationQuietLogHandler: LogHandler {
    var wrapped: any LogHandler

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if event.level >= .error, Self.isCancelledServer(event.message.description) {
            guard wrapped.logLevel <= .debug else { return }
            event.level = .debug
        }
        wrapped.log(event: event)
    }

    /// The lines Hummingbird's server logs when the task serving it is cancelled.
    static func isCancelledServer(_ message: String) -> Bool {
        message == "Waiting on child channel: CancellationError()" || message == "Server shutdown error: Already closed"
    }

    /// `logger` with this handler around its own.
    static func wrapping(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.handler = CancellationQuietLogHandler(wrapped: logger.handler)
        return quiet
    }
}
