import Foundation
import Logging
import Micro
import ServiceLifecycle
import Testing

/// A service's parts run in its `ServiceGroup` and end with it: nothing it opened or started is left.
@Suite(.serialized) struct ServiceLifecycleTests {
    struct Ping: Codable, Sendable { var n: Int }
    struct Event: Codable, Sendable { var text: String }

    /// Open file descriptors of this process (sockets, inotify, eventfds, files).
    static func openDescriptors() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [])
    }

    /// One full life of a service on the embedded engines (local registry, HTTP transport and broker):
    /// start, be called, deliver a publish to its own subscriber, stop.
    static func oneLife(_ directory: String) async throws {
        let environment = MicroEnvironment(["MICRO_REGISTRY_ADDRESS": directory, "MICRO_HOME": directory])
        let service = try MicroService(name: "lifecycle", options: ServiceOptions(drainTimeout: .seconds(2)), environment: environment)
        service.handle("Echo.Ping") { (request: Ping, _) in request }
        let (received, receivedContinuation) = AsyncStream<String>.makeStream()
        service.subscribe("lifecycle.events") { (event: Event, _) in receivedContinuation.yield(event.text) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            let registered = await poll(timeout: .seconds(10)) {
                guard service.address != nil, let records = try? await service.registry.getService("lifecycle") else { return false }
                return !(records.first?.nodes.isEmpty ?? true)
            }
            #expect(registered)
            // A second client of its own (closed by withClient), and the service's own client and broker.
            let reply = try await withClient(environment: environment) { client in
                try await client.call("lifecycle", "Echo.Ping", Ping(n: 7), as: Ping.self)
            }
            #expect(reply.n == 7)
            try await service.client.publish("lifecycle.events", Event(text: "hello"))
            var iterator = received.makeAsyncIterator()
            #expect(await iterator.next() == "hello")
            service.stop()
            try await group.waitForAll()
        }
        #expect(try await registeredNodes("lifecycle", in: directory).isEmpty)
    }

    @Test func afterAServiceStopsNoTaskSocketOrDescriptorOfItRemains() async throws {
        let directory = NSTemporaryDirectory() + "micro-lifecycle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The first life creates what lives as long as the process (SwiftNIO's shared event loops).
        try await Self.oneLife(directory)
        let descriptors = Self.openDescriptors()
        let tasks = TaskCensus.running
        try await Self.oneLife(directory)
        // inotify watch threads end within 200 ms of being stopped; give everything a moment.
        // (What the first life left closing may close meanwhile: only descriptors added by the second count.)
        let settled = await poll(timeout: .seconds(3)) { Self.openDescriptors().isSubset(of: descriptors) && TaskCensus.running == tasks }
        let leaked = Self.openDescriptors().subtracting(descriptors).sorted().map { fd in
            "\(fd) → " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "?")
        }
        #expect(settled, "left open: \(leaked); engine tasks running: \(TaskCensus.running) (before: \(tasks))")
    }

    /// A user's own service beside a MicroService in one ServiceGroup: the names do not clash, and the
    /// group's graceful shutdown deregisters and stops the MicroService.
    struct Ticker: ServiceLifecycle.Service {
        let ticks: Locked<Int>
        func run() async throws {
            try? await gracefulShutdown()
            ticks.withLock { $0 += 1 }
        }
    }

    @Test func runsInAUsersServiceGroupAndShutsDownWithIt() async throws {
        let directory = NSTemporaryDirectory() + "micro-lifecycle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = try MicroService(name: "grouped", environment: MicroEnvironment(["MICRO_REGISTRY_ADDRESS": directory]))
        service.handle("Echo.Ping") { (request: Ping, _) in request }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: Ticker(ticks: Locked(0))), .init(service: service)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let registered = await poll(timeout: .seconds(10)) { (try? await registeredNodes("grouped", in: directory).count) == 1 }
            #expect(registered)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await registeredNodes("grouped", in: directory).isEmpty)
    }

    /// A registry that records its shutdown.
    final class RecordingRegistry: Registry {
        let closed = Locked(0)
        let backend = MemoryRegistry()
        var name: String { "recording" }
        func register(_ service: ServiceRecord, ttl: Duration?) async throws { try await backend.register(service, ttl: ttl) }
        func deregister(_ service: ServiceRecord) async throws { try await backend.deregister(service) }
        func getService(_ name: String) async throws -> [ServiceRecord] { try await backend.getService(name) }
        func listServices() async throws -> [ServiceRecord] { try await backend.listServices() }
        func watch(service: String?) async throws -> RegistryWatch { try await backend.watch(service: service) }
        func shutdown() async { closed.withLock { $0 += 1 } }
    }

    @Test func withClientClosesWhatItMadeWhenItsBodyThrows() async throws {
        let registry = RecordingRegistry()
        let engines = Engines.embedded.adding([EnginePlugin("recording") { $0.add(RegistryFactory("recording") { _ in registry }) }])
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await withClient(engines: engines, environment: MicroEnvironment(["MICRO_REGISTRY": "recording", "MICRO_BROKER": "memory"])) { _ in
                throw Boom()
            }
        }
        #expect(registry.closed.value == 1)
    }

    @Test func aServiceClosesTheEnginesItMadeButNotThoseItWasGiven() async throws {
        let made = RecordingRegistry(), given = RecordingRegistry()
        let plugin = EnginePlugin("recording") { $0.add(RegistryFactory("recording") { _ in made }) }
        let environment = MicroEnvironment(["MICRO_REGISTRY": "recording", "MICRO_BROKER": "memory", "MICRO_TRANSPORT": "memory"])
        for registry in [nil, given] as [RecordingRegistry?] {
            let service = try MicroService(name: "owner", environment: environment, plugins: [plugin], registry: registry)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                #expect(await poll(timeout: .seconds(5)) { service.address != nil })
                service.stop()
                try await group.waitForAll()
            }
        }
        #expect(made.closed.value == 1)
        #expect(given.closed.value == 0)
    }

    @Test func anUnknownEngineNamesTheOnesThisProgramHas() throws {
        let environment = MicroEnvironment(["MICRO_REGISTRY": "zookeeper"])
        #expect {
            _ = try MicroService(name: "x", environment: environment)
        } throws: { error in
            let text = "\(error)"
            return error is ConfigurationError && text.contains("zookeeper") && text.contains("local, memory")
        }
    }
}
