import Logging
import MicroCore
import ServiceLifecycle

/// A service's registration as a lifecycle service: heartbeats every interval until graceful shutdown
/// or ``MicroService/stop()``, then reports not serving and deregisters — the first step of shutdown.
struct RegistrationService: Service {
    let registry: any Registry
    let record: @Sendable () -> ServiceRecord
    let timing: RegistrationTiming
    let router: Router
    let stopRequested: AsyncStream<Void>
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await heartbeat() }
            group.addTask { try? await gracefulShutdown() }
            group.addTask { for await _ in stopRequested {} }
            await group.next()
            group.cancelAll()
        }
        // Leave the registry first so callers stop choosing this node, then the group drains the rest.
        router.setHealthCheck { .notServing }
        do { try await registry.deregister(record()) } catch {
            logger.warning("deregister failed", metadata: ["error": "\(error)"])
        }
    }

    private func heartbeat() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: timing.interval) } catch { return }
            do { try await registry.register(record(), ttl: timing.ttl) } catch {
                logger.warning("re-register failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
