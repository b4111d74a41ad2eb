import Foundation
import Logging
import MicroCore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The dashboard's live view of the registry: follows a registry watch (and re-reads now and then, for
/// registries whose expiries are not watched), and pushes the service list, as JSON, to every page
/// that listens. Runs as long as the dashboard.
final class RegistryFeed: Sendable {
    private struct State {
        var latest = "[]"
        var listeners: [Int: AsyncStream<String>.Continuation] = [:]
        var nextID = 0
    }

    let registry: any Registry
    let refresh: Duration
    let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// At most this many pages listen at once; more are refused (503).
    static let maxListeners = 256

    init(registry: any Registry, refresh: Duration = .seconds(2), logger: Logger) {
        self.registry = registry
        self.refresh = refresh
        self.logger = logger
    }

    /// The service list now, as JSON.
    var latest: String { state.withLockedValue { $0.latest } }

    /// A stream of the list: the current one at once, then each change; nil when too many listen.
    func listen() -> AsyncStream<String>? {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLockedValue { s in
            guard s.listeners.count < Self.maxListeners else { return nil }
            s.nextID += 1
            s.listeners[s.nextID] = continuation
            continuation.yield(s.latest)
            return s.nextID
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in self?.state.withLockedValue { _ = $0.listeners.removeValue(forKey: id) } }
        return stream
    }

    /// Follows the registry until cancelled or shut down gracefully.
    func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watchLoop() }
                group.addTask {
                    while !Task.isCancelled {
                        await self.reload()
                        try? await Task.sleep(for: self.refresh)
                    }
                }
            }
        }
        state.withLockedValue { s in
            for c in s.listeners.values { c.finish() }
            s.listeners = [:]
        }
    }

    private func watchLoop() async {
        while !Task.isCancelled {
            do {
                let watch = try await registry.watch(service: nil)
                for try await _ in watch { await reload() }
            } catch {
                logger.debug("registry watch ended", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Reads the registry and pushes the list when it changed.
    func reload() async {
        let records: [ServiceRecord]
        do { records = try await RegistrySnapshot.services(registry, fresh: true) } catch {
            logger.debug("cannot list services", metadata: ["error": "\(error)"])
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(ServiceSummary.list(records)) else { return }
        let json = String(decoding: data, as: UTF8.self)
        state.withLockedValue { s in
            guard s.latest != json else { return }
            s.latest = json
            for c in s.listeners.values { c.yield(json) }
        }
    }
}
