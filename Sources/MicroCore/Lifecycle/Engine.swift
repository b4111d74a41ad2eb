import ServiceLifecycle

/// A long-lived part that holds resources — a registry, a broker, a client transport: a
/// swift-service-lifecycle `Service` whose ``run()`` keeps it until graceful shutdown or cancellation
/// and then closes it, so the `ServiceGroup` that runs it owns its lifetime.
///
/// An engine also works before `run()` starts (it connects on first use), so it can be used on its
/// own; ``shutdown()`` is what `run()` ends with, and what a caller that never ran it calls.
public protocol Engine: ServiceLifecycle.Service {
    /// Closes connections and sockets and ends the engine's background tasks, waiting for them;
    /// safe to call more than once. Nothing of the engine runs after it returns.
    func shutdown() async
}

extension Engine {
    /// Waits for graceful shutdown (or cancellation), then calls ``shutdown()``.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
