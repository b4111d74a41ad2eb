import MicroCore
import Testing

/// A registry in front of another that can be told to fail, counts lookups and watches, and can slow lookups down.
final class InstrumentedRegistry: Registry {
    let backend: MemoryRegistry
    let failing = Locked(false)
    let lookups = Locked(0)
    let watches = Locked(0)
    let lookupDelay: Duration

    init(_ backend: MemoryRegistry = MemoryRegistry(), lookupDelay: Duration = .zero) {
        self.backend = backend
        self.lookupDelay = lookupDelay
    }

    var name: String { "instrumented" }
    func shutdown() async {}

    func register(_ service: ServiceRecord, ttl: Duration?) async throws { try await backend.register(service, ttl: ttl) }
    func deregister(_ service: ServiceRecord) async throws { try await backend.deregister(service) }

    func getService(_ name: String) async throws -> [ServiceRecord] {
        lookups.withLock { $0 += 1 }
        if lookupDelay > .zero { try await Task.sleep(for: lookupDelay) }
        if failing.value { throw TestFailure("backend down") }
        return try await backend.getService(name)
    }

    func listServices() async throws -> [ServiceRecord] {
        if failing.value { throw TestFailure("backend down") }
        return try await backend.listServices()
    }

    func watch(service: String?) async throws -> RegistryWatch {
        if failing.value { throw TestFailure("backend down") }
        let w = try await backend.watch(service: service)
        watches.withLock { $0 += 1 }
        return w
    }
}

@Suite struct RegistryCacheTests {
    @Test func hitsDoNotReachTheBackend() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1")))
        let cache = RegistryCache(backend)
        #expect(cache.name == "instrumented")
        for _ in 0..<10 { #expect(try await cache.getService("greeter").first?.nodes.map(\.id) == ["g1"]) }
        #expect(backend.lookups.value == 1)
        await cache.shutdown()
    }

    @Test func servesStaleWhenBackendFails() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1"), node("g2")))
        let cache = RegistryCache(backend, ttl: .milliseconds(50))
        let fresh = try await cache.getService("greeter")
        #expect(fresh.first?.nodes.count == 2)
        backend.failing.withLock { $0 = true }
        try await Task.sleep(for: .milliseconds(120))
        let stale = try await cache.getService("greeter")
        #expect(stale == fresh)
        #expect(backend.lookups.value == 2, "the expired entry must have been looked up again")
        // A service never cached has nothing stale to serve: the backend's error comes through.
        await #expect(throws: TestFailure.self) { try await cache.getService("other") }
        // Once the backend recovers, fresh answers replace the stale ones.
        try await backend.register(record("greeter", node("g3")))
        backend.failing.withLock { $0 = false }
        let recovered = await waitUntil { (try? await cache.getService("greeter").first?.nodes.count) == 3 }
        #expect(recovered)
        await cache.shutdown()
    }

    @Test func expiredEntriesAreLookedUpAgain() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1")))
        let cache = RegistryCache(backend, ttl: .milliseconds(500))
        _ = try await cache.getService("greeter")
        _ = try await cache.getService("greeter")
        #expect(backend.lookups.value == 1)
        try await Task.sleep(for: .milliseconds(600))
        _ = try await cache.getService("greeter")
        #expect(backend.lookups.value == 2)
        await cache.shutdown()
    }

    @Test func concurrentMissesShareOneLookup() async throws {
        let backend = InstrumentedRegistry(lookupDelay: .milliseconds(200))
        try await backend.register(record("greeter", node("g1"), node("g2")))
        let cache = RegistryCache(backend)
        let results = try await withThrowingTaskGroup(of: [ServiceRecord].self) { group in
            for _ in 0..<50 { group.addTask { try await cache.getService("greeter") } }
            var all: [[ServiceRecord]] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 50)
        #expect(results.allSatisfy { $0.first?.nodes.map(\.id) == ["g1", "g2"] })
        #expect(backend.lookups.value == 1)
        await cache.shutdown()
    }

    @Test func concurrentMissesOfDifferentServicesAreSeparate() async throws {
        let backend = InstrumentedRegistry(lookupDelay: .milliseconds(100))
        try await backend.register(record("a", node("a1")))
        try await backend.register(record("b", node("b1")))
        let cache = RegistryCache(backend)
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<20 {
                let name = i % 2 == 0 ? "a" : "b"
                group.addTask { try await cache.getService(name).first?.nodes.first?.id ?? "" }
            }
            for try await id in group { #expect(id == "a1" || id == "b1") }
        }
        #expect(backend.lookups.value == 2)
        await cache.shutdown()
    }

    @Test func failedSharedLookupFailsEveryWaiter() async throws {
        let backend = InstrumentedRegistry(lookupDelay: .milliseconds(100))
        backend.failing.withLock { $0 = true }
        let cache = RegistryCache(backend)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { (try? await cache.getService("greeter")) == nil } }
            var n = 0
            for await failed in group where failed { n += 1 }
            return n
        }
        #expect(failures == 10)
        #expect(backend.lookups.value == 1)
        // The failure is not cached: the next lookup asks again.
        backend.failing.withLock { $0 = false }
        try await backend.register(record("greeter", node("g1")))
        #expect(try await cache.getService("greeter").first?.nodes.map(\.id) == ["g1"])
        #expect(backend.lookups.value == 2)
        await cache.shutdown()
    }

    @Test func watchEventsUpdateTheCache() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1")))
        let cache = RegistryCache(backend, ttl: .seconds(600))
        #expect(try await cache.getService("greeter").first?.nodes.map(\.id) == ["g1"])
        #expect(await waitUntil { backend.watches.value >= 1 }, "the cache should open a watch after its first lookup")

        // A new node arrives through the watch.
        try await backend.register(record("greeter", node("g2")))
        #expect(await waitUntil { (try? await cache.getService("greeter").first?.nodes.count) == 2 })

        // A new version too.
        try await backend.register(record("greeter", version: "2.0.0", node("v2")))
        #expect(await waitUntil { (try? await cache.getService("greeter").count) == 2 })

        // A node leaves.
        try await backend.deregister(record("greeter", node("g1")))
        #expect(await waitUntil {
            (try? await cache.getService("greeter").first { $0.version == "1.0.0" }?.nodes.map(\.id)) == ["g2"]
        })

        // A whole version leaves (delete event).
        try await backend.deregister(record("greeter", version: "2.0.0"))
        #expect(await waitUntil { (try? await cache.getService("greeter").map(\.version)) == ["1.0.0"] })
        #expect(backend.lookups.value == 1, "all changes above must have come from the watch, not from new lookups")

        // The last node leaves: the entry goes, and the next lookup asks the backend.
        try await backend.deregister(record("greeter", node("g2")))
        #expect(await waitUntil { (try? await cache.getService("greeter").isEmpty) == true })
        #expect(backend.lookups.value >= 2)
        await cache.shutdown()
    }

    @Test func watchExpiryRemovesNodes() async throws {
        let backend = InstrumentedRegistry()
        let cache = RegistryCache(backend, ttl: .seconds(600))
        // The cache must first see both nodes; on a very loaded machine the short TTL may pass
        // before that first lookup, so try again with a fresh service name.
        var service: String?
        for attempt in 0..<3 where service == nil {
            let name = "greeter\(attempt)"
            try await backend.register(record(name, node("stay")))
            try await backend.register(record(name, node("fleeting")), ttl: .milliseconds(500))
            if try await cache.getService(name).first?.nodes.count == 2 { service = name }
        }
        let name = try #require(service, "the cache never saw the node before it expired")
        let lookups = backend.lookups.value
        #expect(await waitUntil { backend.watches.value >= 1 })
        try await Task.sleep(for: .milliseconds(600))
        backend.backend.sweep()
        #expect(await waitUntil { (try? await cache.getService(name).first?.nodes.map(\.id)) == ["stay"] })
        #expect(backend.lookups.value == lookups, "the expiry must have come through the watch")
        await cache.shutdown()
    }

    @Test func watchIgnoresServicesNotCached() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1")))
        let cache = RegistryCache(backend, ttl: .seconds(600))
        _ = try await cache.getService("greeter")
        #expect(await waitUntil { backend.watches.value >= 1 })
        try await backend.register(record("other", node("o1")))
        try await Task.sleep(for: .milliseconds(50))
        // "other" was never asked for, so its first lookup goes to the backend.
        #expect(try await cache.getService("other").first?.nodes.map(\.id) == ["o1"])
        #expect(backend.lookups.value == 2)
        await cache.shutdown()
    }

    @Test func invalidateForcesALookup() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1")))
        let cache = RegistryCache(backend, ttl: .seconds(600))
        _ = try await cache.getService("greeter")
        cache.invalidate("greeter")
        _ = try await cache.getService("greeter")
        #expect(backend.lookups.value == 2)
        await cache.shutdown()
    }

    @Test func keepsAtMostMaxServices() async throws {
        let backend = InstrumentedRegistry()
        for name in ["a", "b", "c"] { try await backend.register(record(name, node(name + "1"))) }
        let cache = RegistryCache(backend, ttl: .seconds(600), maxServices: 2)
        _ = try await cache.getService("a")
        try await Task.sleep(for: .milliseconds(5))
        _ = try await cache.getService("b")
        try await Task.sleep(for: .milliseconds(5))
        _ = try await cache.getService("c")  // evicts "a", the oldest
        #expect(backend.lookups.value == 3)
        _ = try await cache.getService("c")
        _ = try await cache.getService("b")
        #expect(backend.lookups.value == 3)
        _ = try await cache.getService("a")
        #expect(backend.lookups.value == 4)
        await cache.shutdown()
    }

    @Test func writesPassThrough() async throws {
        let backend = InstrumentedRegistry()
        let cache = RegistryCache(backend)
        try await cache.register(record("greeter", node("g1")), ttl: nil)
        #expect(try await backend.backend.getService("greeter").first?.nodes.map(\.id) == ["g1"])
        #expect(try await cache.listServices().map(\.name) == ["greeter"])
        try await cache.deregister(record("greeter", node("g1")))
        #expect(try await backend.backend.getService("greeter").isEmpty)
        await cache.shutdown()
    }

    @Test func selectorReusesAGivenCache() async throws {
        let backend = InstrumentedRegistry()
        try await backend.register(record("greeter", node("g1")))
        let cache = RegistryCache(backend)
        let selector = Selector(registry: cache)
        #expect(selector.cache === cache)
        _ = try await selector.select("greeter")
        _ = try await cache.getService("greeter")
        #expect(backend.lookups.value == 1)
        await cache.shutdown()
    }
}
