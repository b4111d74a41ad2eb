import MicroCore
import Testing

@Suite struct SelectorTests {
    func registry(_ records: ServiceRecord...) async throws -> MemoryRegistry {
        let r = MemoryRegistry()
        for rec in records { try await r.register(rec) }
        return r
    }

    @Test func randomSpreadsOverAllNodes() async throws {
        let reg = try await registry(record("greeter", node("a"), node("b"), node("c")))
        let selector = Selector(registry: reg, strategy: .random)
        var counts: [String: Int] = [:]
        for _ in 0..<3000 { counts[try await selector.select("greeter").id, default: 0] += 1 }
        #expect(Set(counts.keys) == ["a", "b", "c"])
        // Expected 1000 each; 700 is > 10 standard deviations away.
        for (id, n) in counts { #expect(n > 700, "node \(id) picked only \(n) times") }
        await selector.cache.shutdown()
    }

    @Test func roundRobinCyclesThroughNodes() async throws {
        let reg = try await registry(record("greeter", node("a"), node("b"), node("c")))
        let selector = Selector(registry: reg, strategy: .roundRobin)
        var picks: [String] = []
        for _ in 0..<9 { picks.append(try await selector.select("greeter").id) }
        #expect(Set(picks) == ["a", "b", "c"])
        for id in ["a", "b", "c"] { #expect(picks.filter { $0 == id }.count == 3) }
        // Each pick differs from the previous one, and the sequence repeats every 3.
        for i in 1..<picks.count { #expect(picks[i] != picks[i - 1]) }
        for i in 3..<picks.count { #expect(picks[i] == picks[i - 3]) }
        await selector.cache.shutdown()
    }

    @Test func roundRobinCountsPerService() async throws {
        let reg = try await registry(record("one", node("o1"), node("o2")), record("two", node("t1"), node("t2")))
        let selector = Selector(registry: reg, strategy: .roundRobin)
        var ones: [String] = []
        for _ in 0..<4 {
            ones.append(try await selector.select("one").id)
            _ = try await selector.select("two")
            _ = try await selector.select("two")
        }
        // Calls to "two" do not disturb the alternation of "one".
        #expect(ones[0] != ones[1])
        #expect(ones[0] == ones[2])
        #expect(ones[1] == ones[3])
        await selector.cache.shutdown()
    }

    @Test func customStrategyGetsServiceAndCandidates() async throws {
        let reg = try await registry(record("greeter", node("a"), node("b")))
        let seen = Locked<[String]>([])
        let selector = Selector(registry: reg, strategy: SelectionStrategy { service, nodes in
            seen.withLock { $0.append("\(service):\(nodes.map(\.id).sorted().joined(separator: ","))") }
            return nodes.last!
        })
        _ = try await selector.select("greeter")
        #expect(seen.value == ["greeter:a,b"])
        await selector.cache.shutdown()
    }

    @Test func filterByVersion() async throws {
        let reg = try await registry(record("greeter", version: "1.0.0", node("v1a"), node("v1b")),
                                     record("greeter", version: "2.0.0", node("v2")))
        let selector = Selector(registry: reg)
        for _ in 0..<50 { #expect(try await selector.select("greeter", filters: [.version("2.0.0")]).id == "v2") }
        for _ in 0..<50 { #expect(try await selector.select("greeter", filters: [.version("1.0.0")]).id.hasPrefix("v1")) }
        await selector.cache.shutdown()
    }

    @Test func filterByMetadata() async throws {
        let reg = try await registry(record("greeter", node("eu", nil, ["zone": "eu"]), node("us", nil, ["zone": "us"]), node("none")))
        let selector = Selector(registry: reg)
        for _ in 0..<50 { #expect(try await selector.select("greeter", filters: [.metadata("zone", "us")]).id == "us") }
        await selector.cache.shutdown()
    }

    @Test func filterByEndpoint() async throws {
        var withHello = record("greeter", version: "1", node("hello-node"))
        withHello.endpoints = [Endpoint(name: "Greeter.Hello")]
        var withBye = record("greeter", version: "2", node("bye-node"))
        withBye.endpoints = [Endpoint(name: "Greeter.Bye")]
        let reg = try await registry(withHello, withBye)
        let selector = Selector(registry: reg)
        for _ in 0..<50 { #expect(try await selector.select("greeter", filters: [.endpoint("Greeter.Hello")]).id == "hello-node") }
        await #expect(throws: MicroError.self) { try await selector.select("greeter", filters: [.endpoint("Greeter.Missing")]) }
        await selector.cache.shutdown()
    }

    @Test func endpointFilterKeepsRecordsThatDeclareNone() async throws {
        let reg = try await registry(record("greeter", node("anon")))
        let selector = Selector(registry: reg)
        #expect(try await selector.select("greeter", filters: [.endpoint("Anything")]).id == "anon")
        await selector.cache.shutdown()
    }

    @Test func protocolAndNodeFilters() async throws {
        let reg = try await registry(record("greeter", node("plain"), node("grpc", nil, ["protocol": "grpc"]), node("mucp", nil, ["protocol": "mucp"])))
        let selector = Selector(registry: reg)
        for _ in 0..<30 { #expect(try await selector.select("greeter", filters: [.protocol("grpc")]).id == "grpc") }
        for _ in 0..<30 { #expect(try await selector.select("greeter", filters: [.protocol("mucp")]).id != "grpc") }
        #expect(try await selector.select("greeter", filters: [.node("plain")]).id == "plain")
        // Filters compose.
        let both = try await selector.select("greeter", filters: [.protocol("mucp"), .node("mucp")])
        #expect(both.id == "mucp")
        await selector.cache.shutdown()
    }

    @Test func unknownServiceIs404() async throws {
        let reg = try await registry(record("greeter", node("a")))
        let selector = Selector(registry: reg)
        let error = await #expect(throws: MicroError.self) { try await selector.select("nobody") }
        #expect(error?.code == 404)
        #expect(error?.detail.contains("nobody") == true)
        await selector.cache.shutdown()
    }

    @Test func filtersRemovingEverythingIs503() async throws {
        let reg = try await registry(record("greeter", node("a", nil, ["zone": "eu"])))
        let selector = Selector(registry: reg)
        let byVersion = await #expect(throws: MicroError.self) { try await selector.select("greeter", filters: [.version("9.9.9")]) }
        #expect(byVersion?.code == 503)
        #expect(byVersion?.status == "Service Unavailable")
        let byMeta = await #expect(throws: MicroError.self) { try await selector.select("greeter", filters: [.metadata("zone", "us")]) }
        #expect(byMeta?.code == 503)
        let excluded = await #expect(throws: MicroError.self) { try await selector.select("greeter", exclude: ["a"]) }
        #expect(excluded?.code == 503)
        await selector.cache.shutdown()
    }

    @Test func excludeSkipsTriedNodes() async throws {
        let reg = try await registry(record("greeter", node("a"), node("b")))
        let selector = Selector(registry: reg)
        for _ in 0..<30 { #expect(try await selector.select("greeter", exclude: ["a"]).id == "b") }
        await selector.cache.shutdown()
    }

    @Test func failedNodeAvoidedThenUsedAgain() async throws {
        let reg = try await registry(record("greeter", node("bad"), node("good1"), node("good2")))
        let failures = FailureTracker(penalty: .milliseconds(800))
        let selector = Selector(registry: reg, failures: failures)
        _ = try await selector.select("greeter")  // warm the cache
        let clock = ContinuousClock()
        let start = clock.now
        failures.markFailed("bad")
        #expect(failures.isAvoided("bad"))
        var checked = 0
        // Only checked well inside the penalty, so a slow machine cannot make this flaky.
        while checked < 100, clock.now < start + .milliseconds(500) {
            #expect(try await selector.select("greeter").id != "bad")
            checked += 1
        }
        #expect(checked > 10)
        try await Task.sleep(until: start + .milliseconds(900), clock: clock)
        #expect(!failures.isAvoided("bad"))
        var sawBad = false
        for _ in 0..<300 where !sawBad { sawBad = try await selector.select("greeter").id == "bad" }
        #expect(sawBad)
        await selector.cache.shutdown()
    }

    @Test func succeededClearsFailure() async throws {
        let failures = FailureTracker(penalty: .seconds(60))
        failures.markFailed("n")
        #expect(failures.isAvoided("n"))
        failures.markSucceeded("n")
        #expect(!failures.isAvoided("n"))
        #expect(!failures.isAvoided("never-failed"))
    }

    @Test func allNodesFailedStillPicksOne() async throws {
        let reg = try await registry(record("greeter", node("a"), node("b")))
        let failures = FailureTracker(penalty: .seconds(60))
        let selector = Selector(registry: reg, failures: failures)
        failures.markFailed("a")
        failures.markFailed("b")
        let picked = try await selector.select("greeter")
        #expect(["a", "b"].contains(picked.id))
        await selector.cache.shutdown()
    }
}
