import Configuration
import Foundation
import Logging
import Metrics
import MicroCore
import NIOConcurrencyHelpers
import ServiceLifecycle
import Synchronization

/// A swift-configuration provider over a shared ``ConfigSource`` (etcd, NATS, Consul): it serves the
/// last good snapshot and, while it runs as a `Service`, watches the source for new ones.
///
/// Safe fallbacks: a snapshot that fails to merge (bad JSON, limits) is refused whole, logged and
/// counted (`micro_config_refused_total`); a source that goes away keeps the last good snapshot and
/// is watched again (100 ms, doubling to 5 s); each good snapshot is saved under
/// `$MICRO_HOME/config/<source>.json`, and a provider that cannot load from its source within the
/// load timeout starts from the saved one (and logs that it did), else empty, so defaults apply.
public final class ConfigSourceProvider: ConfigProvider, Service {
    /// Where a provider's first snapshot came from.
    public enum Origin: Sendable, Hashable {
        /// The source answered.
        case source
        /// The source did not answer (or was refused): the snapshot saved by an earlier run.
        case saved
        /// Neither: an empty snapshot, so every value comes from the providers after this one.
        case empty
    }

    public let providerName: String
    /// The source read.
    public let source: any ConfigSource
    /// Where the first snapshot came from.
    public let origin: Origin
    private let limits: ConfigLimits
    private let saved: SavedSnapshot?
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let retryDelay: Duration
    private let maxRetryDelay: Duration
    private let state: NIOLockedValueBox<State>
    /// The served snapshot's index, swapped when a new snapshot is applied: a hot read takes one
    /// reference under this futex-based mutex and looks up outside it.
    private let served: Mutex<ConfigTreeIndex>

    private struct State {
        var snapshot: ConfigTreeSnapshot
        var watchers: [Int: AsyncStream<ConfigTreeSnapshot>.Continuation] = [:]
        var nextWatcher = 0
    }

    /// Loads the first snapshot: from `source` within `loadTimeout`; else the one saved under
    /// `home` (nil: none is saved or loaded); else an empty one.
    public init(source: any ConfigSource, home: String?, limits: ConfigLimits = ConfigLimits(),
                loadTimeout: Duration = .seconds(5), retryDelay: Duration = .milliseconds(100),
                maxRetryDelay: Duration = .seconds(5), logger: Logger = Logger(label: "micro.config"),
                metrics: any MetricsFactory = MetricsSystem.factory) async {
        let name = "ConfigSourceProvider[\(source.name)]"
        var logger = logger
        logger[metadataKey: "config.source"] = .string(source.name)
        self.providerName = name
        self.source = source
        self.limits = limits
        self.saved = home.map { SavedSnapshot(home: $0, source: source.name) }
        self.logger = logger
        self.metrics = metrics
        self.retryDelay = retryDelay
        self.maxRetryDelay = maxRetryDelay

        var first: ConfigTree?
        var origin = Origin.source
        do {
            let entries = try await Self.withTimeout(loadTimeout) { try await source.entries() }
            do {
                first = try ConfigTree.merge(entries, limits: limits)
            } catch {
                ConfigRefusal.record("the \(source.name) config snapshot", error, dimensions: [("source", source.name)], logger: logger, metrics: metrics)
            }
        } catch {
            logger.warning("config source \(source.name) unavailable at start: \(error)")
        }
        if first == nil, let saved {
            do {
                if let tree = try saved.load(limits: limits) {
                    first = tree
                    origin = .saved
                    logger.notice("config source \(source.name) unavailable: started from the saved snapshot \(saved.path)")
                }
            } catch {
                logger.error("cannot use the saved config snapshot: \(error)")
            }
        }
        if first == nil {
            origin = .empty
            logger.notice("config source \(source.name): no snapshot, starting from defaults")
        }
        self.origin = origin
        let snapshot = ConfigTreeSnapshot(providerName: name, tree: first ?? ConfigTree())
        self.state = NIOLockedValueBox(State(snapshot: snapshot))
        self.served = Mutex(snapshot.index)
        if origin == .source, let first { save(first) }
    }

    /// The tree served now.
    public var tree: ConfigTree { state.withLockedValue { $0.snapshot.tree } }

    // MARK: Service

    /// Watches the source until graceful shutdown or cancellation, applying each good snapshot and
    /// watching again (with backoff) whenever the source is lost.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.watchLoop()
        }
    }

    private func watchLoop() async {
        var delay = retryDelay
        while !Task.isCancelled {
            do {
                let watch = try await source.watch()
                for try await entries in watch {
                    apply(entries)
                    delay = retryDelay
                }
                if Task.isCancelled { return }
                logger.warning("config source \(source.name) ended its watch; watching again in \(delay)")
            } catch {
                if Task.isCancelled { return }
                logger.warning("config source \(source.name) unavailable: \(error); keeping the last good snapshot, watching again in \(delay)")
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            delay = min(delay * 2, maxRetryDelay)
        }
    }

    /// Merges `entries` into a new snapshot and serves it; a snapshot that fails is refused (logged,
    /// counted) and the last good one stays. True when the served snapshot changed.
    @discardableResult
    func apply(_ entries: [ConfigEntry]) -> Bool {
        let tree: ConfigTree
        do {
            tree = try ConfigTree.merge(entries, limits: limits)
        } catch {
            ConfigRefusal.record("a \(source.name) config snapshot", error, dimensions: [("source", source.name)], logger: logger, metrics: metrics)
            return false
        }
        let changed = state.withLockedValue { s in
            guard s.snapshot.tree != tree else { return false }
            s.snapshot = ConfigTreeSnapshot(providerName: providerName, tree: tree)
            served.withLock { $0 = s.snapshot.index }
            for continuation in s.watchers.values { continuation.yield(s.snapshot) }
            return true
        }
        if changed {
            logger.debug("config source \(source.name): new snapshot")
            save(tree)
        }
        return changed
    }

    private func save(_ tree: ConfigTree) {
        guard let saved else { return }
        do {
            try saved.save(tree)
        } catch {
            logger.warning("cannot save the config snapshot: \(error)")
        }
    }

    private static func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let value = try await group.next()! else {
                throw ConfigError(.unavailable, "no answer within \(timeout)")
            }
            return value
        }
    }

    // MARK: ConfigProvider

    public func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        // Only the index is taken under the lock (one reference), the lookup runs outside it.
        try ConfigTreeSnapshot.value(forKey: key, type: type, in: served.withLock { $0 })
    }

    nonisolated(nonsending) public func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
        try value(forKey: key, type: type)
    }

    nonisolated(nonsending) public func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey, type: ConfigType,
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>) async throws -> Return
    ) async throws -> Return {
        let (stream, id) = openWatcher()
        defer { closeWatcher(id) }
        return try await updatesHandler(ConfigUpdatesAsyncSequence(stream.map { snapshot in
            Result { try snapshot.value(forKey: key, type: type) }
        }))
    }

    public func snapshot() -> any ConfigSnapshot {
        state.withLockedValue { $0.snapshot }
    }

    nonisolated(nonsending) public func watchSnapshot<Return: ~Copyable>(
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws -> Return
    ) async throws -> Return {
        let (stream, id) = openWatcher()
        defer { closeWatcher(id) }
        return try await updatesHandler(ConfigUpdatesAsyncSequence(stream.map { $0 as any ConfigSnapshot }))
    }

    private func openWatcher() -> (AsyncStream<ConfigTreeSnapshot>, Int) {
        let (stream, continuation) = AsyncStream<ConfigTreeSnapshot>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLockedValue { s in
            let id = s.nextWatcher
            s.nextWatcher += 1
            s.watchers[id] = continuation
            continuation.yield(s.snapshot)
            return id
        }
        return (stream, id)
    }

    private func closeWatcher(_ id: Int) {
        let continuation = state.withLockedValue { $0.watchers.removeValue(forKey: id) }
        continuation?.finish()
    }
}
