import Configuration
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A Codable section of configuration, kept live: ``value`` is the last good value (a lock and a
/// copy, cheap enough for every request), and ``run()`` — a lifecycle `Service` — watches the
/// section and swaps in each new valid value without a restart. Values that fail to decode or
/// `validate` are refused (logged, counted); with no valid value at all, `default` is used.
public final class ConfigSection<T: Decodable & Equatable & Sendable>: Service, Sendable {
    /// The path read.
    public let path: ConfigKey
    private let reader: ConfigReader
    private let filter: SectionFilter<T>
    private let current: NIOLockedValueBox<T>

    /// A section at `path` of `reader`, starting from its value now (or `defaultValue` when it is
    /// absent or refused).
    public init(_ path: ConfigKey, reader: ConfigReader, default defaultValue: T,
                validate: @escaping @Sendable (T) throws -> Void = { _ in },
                logger: Logger = Logger(label: "micro.config"), metrics: any MetricsFactory = MetricsSystem.factory) {
        self.path = path
        self.reader = reader
        self.filter = SectionFilter(path: path, validate: validate, logger: logger, metrics: metrics)
        self.current = NIOLockedValueBox(filter.check(reader.snapshot()) ?? defaultValue)
    }

    /// The last good value.
    public var value: T { current.withLockedValue { $0 } }

    /// Watches the section until graceful shutdown or cancellation.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.reader.watchSection(self.path, as: T.self, validate: self.filter.validate,
                                                logger: self.filter.logger, metrics: self.filter.metrics) { updates in
                for await value in updates {
                    self.current.withLockedValue { $0 = value }
                }
            }
        }
    }
}
