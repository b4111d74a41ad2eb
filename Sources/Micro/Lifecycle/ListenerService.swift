import MicroCore
import ServiceLifecycle

/// A bound server transport as a lifecycle service: serves until graceful shutdown, then stops
/// accepting and lets calls in flight finish for up to the drain timeout (none when cancelled).
struct ListenerService: Service {
    let listener: any TransportListener
    let drainTimeout: Duration

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await listener.run() }
            group.addTask {
                let graceful = (try? await gracefulShutdown()) != nil
                await listener.shutdown(gracePeriod: graceful ? drainTimeout : .zero)
            }
        }
    }
}
