import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A registry in front of a registry: answers from memory, kept fresh by a watch; concurrent misses
/// share one lookup; when the backend fails it serves the last good answer.
public final class RegistryCache: Registry {
    public var name: String { backend.name }
    private let backend: any Registry
    private let ttl: TimeAmount
    private let maxServices: Int
    private let logger: Logger

    private struct Entry {
        var service: CachedService
        var fetched: NIODeadline
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var inflight: [String: Task<[ServiceRecord], any Error>] = [:]
        var watching = false
    }

    private let state = NIOLockedValueBox(State())
    /// The watch that keeps entries fresh.
    private let tasks = OwnedTasks()

    /// A cache over `backend`; entries older than `ttl` are looked up again, at most `maxServices` kept.
    public init(_ backend: any Registry, ttl: Duration = .seconds(60), maxServices: Int = 4096, logger: Logger = Logger(label: "micro.registry.cache")) {
        self.backend = backend
        self.ttl = .nanoseconds(Int64(ttl.components.seconds) * 1_000_000_000 + ttl.components.attoseconds / 1_000_000_000)
        self.maxServices = maxServices
        self.logger = logger
    }

    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        try await backend.register(service, ttl: ttl)
    }

    public func deregister(_ service: ServiceRecord) async throws {
        try await backend.deregister(service)
    }

    public func listServices() async throws -> [ServiceRecord] {
        try await backend.listServices()
    }

    public func watch(service: String?) async throws -> RegistryWatch {
        try await backend.watch(service: service)
    }

    /// The service's records: fresh from memory, or looked up once for all concurrent callers;
    /// the stale answer if the lookup fails.
    public func getService(_ name: String) async throws -> [ServiceRecord] {
        try await service(name).records
    }

    /// ``getService(_:)`` with the records' nodes in one list and the protocols they speak, worked out
    /// once per change of the records rather than on every call that selects a node.
    package func service(_ name: String) async throws -> CachedService {
        let now = NIODeadline.now()
        enum Plan { case hit(CachedService), wait(Task<[ServiceRecord], any Error>) }
        let plan: Plan = state.withLockedValue { s in
            if let e = s.entries[name], e.fetched + ttl > now { return .hit(e.service) }
            if let t = s.inflight[name] { return .wait(t) }
            let backend = self.backend
            let t = Task { try await backend.getService(name) }
            s.inflight[name] = t
            return .wait(t)
        }
        switch plan {
        case .hit(let records):
            return records
        case .wait(let task):
            do {
                let service = CachedService(try await task.value)
                state.withLockedValue { s in
                    s.inflight[name] = nil
                    if s.entries[name] == nil && s.entries.count >= maxServices {
                        if let oldest = s.entries.min(by: { $0.value.fetched < $1.value.fetched })?.key { s.entries[oldest] = nil }
                    }
                    if !service.records.isEmpty { s.entries[name] = Entry(service: service, fetched: .now()) } else { s.entries[name] = nil }
                }
                startWatchIfNeeded()
                return service
            } catch {
                let stale = state.withLockedValue { s -> CachedService? in
                    s.inflight[name] = nil
                    return s.entries[name]?.service
                }
                if let stale {
                    logger.warning("registry lookup failed, serving cached nodes", metadata: ["service": "\(name)", "error": "\(error)"])
                    return stale
                }
                throw error
            }
        }
    }

    /// Forgets a service so the next lookup asks the backend.
    public func invalidate(_ name: String) {
        state.withLockedValue { _ = $0.entries.removeValue(forKey: name) }
    }

    /// Stops the watch and waits for it; the registry behind the cache is its owner's to close.
    public func shutdown() async {
        await tasks.close()
    }

    private func startWatchIfNeeded() {
        let start = state.withLockedValue { s -> Bool in
            guard !s.watching else { return false }
            s.watching = true
            return true
        }
        if start { tasks.spawn { [weak self] in await self?.watchLoop() } }
    }

    private func watchLoop() async {
        var backoff: UInt64 = 100_000_000
        while !Task.isCancelled {
            do {
                let events = try await backend.watch(service: nil)
                backoff = 100_000_000
                for try await event in events { apply(event) }
            } catch {
                if Task.isCancelled { return }
                logger.debug("registry watch failed, retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(nanoseconds: backoff)
            backoff = min(backoff * 2, 5_000_000_000)
        }
    }

    /// Applies a watch event to the cached records of its service (only services already cached).
    func apply(_ event: RegistryEvent) {
        state.withLockedValue { s in
            guard var entry = s.entries[event.service.name] else { return }
            var records = entry.service.records
            let idx = records.firstIndex { $0.version == event.service.version }
            switch event.action {
            case .create, .update:
                if let idx { records[idx] = event.service } else { records.append(event.service) }
            case .delete:
                if let idx {
                    let gone = Set(event.service.nodes.map(\.id))
                    records[idx].nodes.removeAll { gone.isEmpty || gone.contains($0.id) }
                    if records[idx].nodes.isEmpty { records.remove(at: idx) }
                }
            }
            if records.isEmpty { s.entries[event.service.name] = nil; return }
            entry.service = CachedService(records)
            s.entries[event.service.name] = entry
        }
    }
}
