import NIOConcurrencyHelpers
import NIOCore

/// A registry held in this process's memory: for tests and single-process programs.
public final class MemoryRegistry: Registry {
    public let name = "memory"
    private let state = NIOLockedValueBox(RegistryState())
    private let watchers = RegistryWatchers()

    /// An empty registry.
    public init() {}

    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        let events = state.withLockedValue { s in s.expire() + s.register(service, ttl: ttl) }
        watchers.emit(events)
    }

    public func deregister(_ service: ServiceRecord) async throws {
        let events = state.withLockedValue { s in s.expire() + s.deregister(service) }
        watchers.emit(events)
    }

    public func getService(_ name: String) async throws -> [ServiceRecord] {
        let (events, result) = state.withLockedValue { s in (s.expire(), s.get(name)) }
        watchers.emit(events)
        return result
    }

    public func listServices() async throws -> [ServiceRecord] {
        let (events, result) = state.withLockedValue { s in (s.expire(), s.list()) }
        watchers.emit(events)
        return result
    }

    public func watch(service: String?) async throws -> RegistryWatch {
        watchers.open(service: service)
    }

    /// Nothing to release: records and watches belong to every user of a shared in-process registry.
    public func shutdown() async {}

    /// Drops expired nodes now and tells watchers (reads also do this).
    public func sweep() {
        watchers.emit(state.withLockedValue { $0.expire() })
    }
}
