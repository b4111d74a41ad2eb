import MicroCore
import ServiceLifecycle

/// A service's broker subscriptions as a lifecycle service: they end on graceful shutdown, after the
/// service left the registry and before its server drains.
struct SubscriptionsService: Service {
    let subscriptions: [any BrokerSubscription]

    func run() async throws {
        try? await gracefulShutdown()
        for subscription in subscriptions { try? await subscription.unsubscribe() }
    }
}
