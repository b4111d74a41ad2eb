import Foundation
import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// One watch of a ``NATSRegistry``: reads the watch topic's announcements into a view of the
/// registry and reports what changed, as the other registries do (`create` for a new service
/// version, `update` for a node added, removed or changed, `delete` when its last node goes; a
/// heartbeat is silent). Nodes expire from the view after the TTL their announcement carried (or
/// the configured default), so a process that died without deregistering is reported gone.
struct NATSRegistryWatcher: Sendable {
    let service: String?
    let view: NIOLockedValueBox<RegistryState>
    let subscription: NATSSubscription
    let continuation: RegistryWatch.Continuation
    let configuration: NATSRegistryConfiguration
    let logger: Logger

    init(service: String?, view: RegistryState, subscription: NATSSubscription, continuation: RegistryWatch.Continuation,
         configuration: NATSRegistryConfiguration, logger: Logger) {
        self.service = service
        self.view = NIOLockedValueBox(view)
        self.subscription = subscription
        self.continuation = continuation
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until the consumer stops, the subscription ends or the task is cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await read() }
            group.addTask { await sweep() }
            // Whichever ends first ends the watch.
            await group.next()
            group.cancelAll()
            try? subscription.unsubscribe()
        }
        continuation.finish()
    }

    private func read() async {
        for await message in subscription {
            let result: NATSRegistryResult
            do {
                result = try NATSRegistry.decoder.decode(NATSRegistryResult.self, from: Data(buffer: message.payload, byteTransferStrategy: .noCopy))
            } catch {
                logger.debug("ignoring a malformed registry announcement", metadata: ["error": "\(error)"])
                continue
            }
            apply(result)
        }
    }

    /// Applies one announcement to the view and reports the resulting events.
    func apply(_ result: NATSRegistryResult) {
        guard let record = result.service, !record.name.isEmpty else { return }
        if let service, record.name != service { return }
        let events = view.withLockedValue { v -> [RegistryEvent] in
            let expired = v.expire()
            switch result.action {
            case "delete":
                return expired + v.deregister(record)
            case "create", "update", "put":
                return expired + v.register(record, ttl: result.timeToLive ?? configuration.defaultWatchTTL)
            default:
                return expired
            }
        }
        for e in events { continuation.yield(e) }
    }

    private func sweep() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.watchSweepInterval) } catch { return }
            for e in view.withLockedValue({ $0.expire() }) { continuation.yield(e) }
        }
    }
}
