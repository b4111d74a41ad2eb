import Configuration
import Logging
import Metrics
import MicroCore
import NIOConcurrencyHelpers

extension ConfigSnapshotReader {
    /// The Codable section at `path`, read from this snapshot (see ``ConfigSectionDecoder`` rules:
    /// nested keys, scalars, arrays of scalars); throws ``ConfigError/Code/notFound`` when nothing is
    /// there, and `DecodingError` when a value is missing or of the wrong type.
    public func section<T: Decodable>(_ path: ConfigKey, as type: T.Type = T.self) throws -> T {
        try ConfigSectionDecoder.decode(type, from: self, at: path.components)
    }
}

extension ConfigReader {
    /// The Codable section at `path` now, read from one snapshot of every provider.
    public func section<T: Decodable>(_ path: ConfigKey, as type: T.Type = T.self) throws -> T {
        try snapshot().section(path, as: type)
    }

    /// Watches the section at `path`: `updatesHandler` gets an async sequence that yields its value
    /// now (when valid) and then each new valid value. A value that fails to decode or fails
    /// `validate` is refused: the sequence skips it (the last good value stays), and the refusal is
    /// logged and counted as `micro_config_refused_total` with the section's path.
    public func watchSection<T: Decodable & Equatable & Sendable, Return>(
        _ path: ConfigKey, as type: T.Type = T.self,
        validate: @escaping @Sendable (T) throws -> Void = { _ in },
        logger: Logger = Logger(label: "micro.config"),
        metrics: any MetricsFactory = MetricsSystem.factory,
        updatesHandler: (_ updates: ConfigUpdatesAsyncSequence<T, Never>) async throws -> Return
    ) async throws -> Return {
        let filter = SectionFilter<T>(path: path, validate: validate, logger: logger, metrics: metrics)
        return try await watchSnapshot { snapshots in
            try await updatesHandler(ConfigUpdatesAsyncSequence(snapshots.compactMap { filter.accept($0) }))
        }
    }
}

/// Decodes and validates each snapshot's section, passing on only new valid values.
final class SectionFilter<T: Decodable & Equatable & Sendable>: Sendable {
    let path: ConfigKey
    let validate: @Sendable (T) throws -> Void
    let logger: Logger
    let metrics: any MetricsFactory
    private let last = NIOLockedValueBox<T?>(nil)

    init(path: ConfigKey, validate: @escaping @Sendable (T) throws -> Void, logger: Logger, metrics: any MetricsFactory) {
        self.path = path
        self.validate = validate
        self.logger = logger
        self.metrics = metrics
    }

    /// The snapshot's value when it is valid and differs from the last one passed on.
    func accept(_ snapshot: ConfigSnapshotReader) -> T? {
        guard let value = check(snapshot) else { return nil }
        return last.withLockedValue { last in
            guard last != value else { return nil }
            last = value
            return value
        }
    }

    /// The snapshot's value when it decodes and passes `validate`; nil (refused: logged and counted)
    /// otherwise, and nil without a refusal when the section is absent.
    func check(_ snapshot: ConfigSnapshotReader) -> T? {
        do {
            let value = try snapshot.section(path, as: T.self)
            try validate(value)
            return value
        } catch let error as ConfigError where error.code == .notFound {
            return nil
        } catch {
            ConfigRefusal.record("the config section '\(path)'", error, dimensions: [("section", path.description)], logger: logger, metrics: metrics)
            return nil
        }
    }
}
