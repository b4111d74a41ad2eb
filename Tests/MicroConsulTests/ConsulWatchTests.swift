@testable import ConsulClient
import Foundation
@testable import MicroConsul
import MicroCore
import MicroTestSupport
import Testing

/// Blocking queries as Consul documents them, and the watch built on them.
@Suite(.serialized) struct ConsulWatchTests {
    @Test func blockingQueryWaitsForAChangeOrTheWaitTime() async throws {
        let agent = try await ConsulFixtureAgent()
        var c = ConsulTest.configuration([agent.address])
        c.blockingWait = .milliseconds(300)
        let client = ConsulAgentClient(configuration: c.agent, logger: .init(label: "test"))
        let first = try await client.health(service: "b")
        // No change: held for the wait time, same index back.
        var start = ContinuousClock.now
        let idle = try await client.health(service: "b", index: first.index)
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        #expect(idle.index == first.index)
        #expect(agent.requests.last?.description == "GET /v1/health/service/b?passing=1&stale=&index=\(first.index)&wait=300ms")
        // A change wakes it before the wait time, with a larger index.
        c.blockingWait = .seconds(5)
        // Registration (check critical) and the check pass are two changes; without `passing` the
        // first already shows the instance.
        c.passingOnly = false
        let slow = ConsulAgentClient(configuration: c.agent, logger: .init(label: "test"))
        let writer = ConsulTest.registry(agent)
        start = ContinuousClock.now
        async let changed = slow.health(service: "b", index: first.index)
        try await Task.sleep(for: .milliseconds(200))
        try await writer.register(ConsulTest.record("b", nodes: ["b-1"]), ttl: .seconds(30))
        let answer = try await changed
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(answer.index > first.index)
        #expect(answer.value.map(\.service.id) == ["b-1"])
        let catalog = try await slow.catalogServices()
        #expect(catalog.value.keys.sorted() == ["b", "consul"])
        await client.shutdown()
        await slow.shutdown()
        await writer.shutdown()
        await agent.stop()
    }

    @Test func watchOfOneServiceReportsCreateUpdateDeleteAndTTLExpiry() async throws {
        let agent = try await ConsulFixtureAgent()
        let writer = ConsulTest.registry(agent)
        let reader = ConsulTest.registry(agent)
        let log = EventLog(try await reader.watch(service: "w"))
        try await writer.register(ConsulTest.record("w", nodes: ["w-1"]), ttl: .seconds(30))
        #expect(await ConsulTest.eventually { log.contains(.create) })
        try await writer.register(ConsulTest.record("w", nodes: ["w-2"]), ttl: .seconds(1))
        #expect(await ConsulTest.eventually { log.all.contains { $0.action == .update && $0.service.nodes.count == 2 } })
        // w-2 is not heartbeated: its TTL check turns critical and the watch sees it leave.
        #expect(await ConsulTest.eventually(.seconds(4)) { log.all.last.map { $0.action == .update && $0.service.nodes.map(\.id) == ["w-1"] } ?? false })
        try await writer.deregister(ConsulTest.record("w", nodes: ["w-1"]))
        #expect(await ConsulTest.eventually { log.contains(.delete) })
        #expect(log.all.map(\.action) == [.create, .update, .update, .delete])
        #expect(log.all.allSatisfy { $0.service.name == "w" })
        await reader.shutdown()
        #expect(await ConsulTest.eventually { log.finished })
        await writer.shutdown()
        await agent.stop()
    }

    @Test func watchOfEverythingFollowsNewAndRemovedServices() async throws {
        let agent = try await ConsulFixtureAgent()
        let writer = ConsulTest.registry(agent)
        try await writer.register(ConsulTest.record("old", nodes: ["old-1"]), ttl: .seconds(30))
        let reader = ConsulTest.registry(agent)
        let log = EventLog(try await reader.watch(service: nil))
        try await Task.sleep(for: .milliseconds(100))
        // What existed when the watch opened is not reported.
        #expect(log.all.isEmpty)
        try await writer.register(ConsulTest.record("new", nodes: ["new-1"]), ttl: .seconds(30))
        #expect(await ConsulTest.eventually { log.contains(.create, "new") })
        try await writer.register(ConsulTest.record("old", nodes: ["old-2"]), ttl: .seconds(30))
        #expect(await ConsulTest.eventually { log.contains(.update, "old") })
        try await writer.deregister(ConsulTest.record("old", nodes: ["old-1", "old-2"]))
        try await writer.deregister(ConsulTest.record("new", nodes: ["new-1"]))
        #expect(await ConsulTest.eventually { log.contains(.delete, "old") && log.contains(.delete, "new") })
        // Each node's leaving is reported: in an update while the service has others, then in the delete.
        let old = log.all.filter { $0.service.name == "old" }.map(\.action)
        #expect(old.last == .delete && old.first == .update)
        #expect(log.all.last { $0.service.name == "new" }?.service.nodes.map(\.id) == ["new-1"])
        let lastOld = try #require(log.all.last { $0.service.name == "old" })
        #expect(lastOld.service.nodes.count == 1 || Set(lastOld.service.nodes.map(\.id)) == ["old-1", "old-2"])
        await reader.shutdown()
        #expect(await ConsulTest.eventually { log.finished })
        await writer.shutdown()
        await agent.stop()
    }

    @Test func watchRetriesAfterAgentErrorsAndStopsOnCancellation() async throws {
        let agent = try await ConsulFixtureAgent()
        let writer = ConsulTest.registry(agent)
        let reader = ConsulTest.registry(agent)
        let watch = try await reader.watch(service: "r")
        agent.inject(.status(500, "No cluster leader"), path: "/v1/health/service/r", times: 3)
        let log = EventLog(watch)
        try await Task.sleep(for: .milliseconds(50))
        try await writer.register(ConsulTest.record("r", nodes: ["r-1"]), ttl: .seconds(30))
        #expect(await ConsulTest.eventually { log.contains(.create) })
        let failed = agent.requests.filter { $0.path == "/v1/health/service/r" }.count
        #expect(failed >= 4)
        // Ending the consumer ends the watch's queries.
        log.task.cancel()
        try await Task.sleep(for: .milliseconds(300))
        let before = agent.requests.count
        try await writer.register(ConsulTest.record("r", nodes: ["r-2"]), ttl: .seconds(30))
        try await Task.sleep(for: .milliseconds(300))
        #expect(agent.requests.filter { $0.method == "GET" }.count == agent.requests.prefix(before).filter { $0.method == "GET" }.count)
        await reader.shutdown()
        await writer.shutdown()
        await agent.stop()
    }

    @Test func shutdownEndsWatchesEvenWhileABlockingQueryIsHeld() async throws {
        let agent = try await ConsulFixtureAgent()
        let reader = ConsulRegistry(configuration: {
            var c = ConsulTest.configuration([agent.address])
            c.blockingWait = .seconds(60)
            return c
        }())
        let one = EventLog(try await reader.watch(service: "s"))
        let all = EventLog(try await reader.watch(service: nil))
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        await reader.shutdown()
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(await ConsulTest.eventually(.seconds(2)) { one.finished && all.finished })
        await #expect { try await reader.watch(service: "s") } throws: { ($0 as? ConsulError)?.code == .shutdown }
        await agent.stop()
    }
}
