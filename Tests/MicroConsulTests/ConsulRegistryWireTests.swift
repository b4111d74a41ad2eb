@testable import ConsulClient
import Foundation
@testable import MicroConsul
import MicroCore
import MicroTestSupport
import Testing

/// The requests the registry makes, checked against what go-micro's plugin sends through Consul's Go
/// API (consul.go: ServiceRegister, PassTTL, ServiceDeregister, Health().Service, Catalog().Services)
/// and Consul's HTTP API documentation. Fixture-tested only: no real Consul runs here.
@Suite(.serialized) struct ConsulRegistryWireTests {
    @Test func registerSendsGoMicrosRegistrationThenPassesTheCheck() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent)
        let record = ConsulTagsTests.greeter
        try await registry.register(record, ttl: .seconds(30))
        let requests = agent.requests
        #expect(requests.map(\.description) == ["PUT /v1/agent/service/register", "PUT /v1/agent/check/pass/service%3Agreeter-1?note="])
        let register = try #require(requests.first)
        let expected = #"{"ID":"greeter-1","Name":"greeter","Tags":["#
            + ConsulTags.encode(record, node: record.nodes[0]).map { "\"\($0)\"" }.joined(separator: ",")
            + #"],"Port":8080,"Address":"127.0.0.1","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"1m5s"},"Checks":null}"#
        #expect(String(decoding: register.body, as: UTF8.self) == expected)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(register.body)) as? [String: Any])
        #expect(Set(object.keys) == ["ID", "Name", "Tags", "Port", "Address", "Check", "Checks"])
        #expect(register.header("Content-Type") == "application/json")
        #expect(register.header("X-Consul-Token") == nil)
        #expect(requests[1].queryValue("note") == "")
        #expect(requests[1].path == "/v1/agent/check/pass/service:greeter-1")
        let stored = try #require(agent.services["greeter-1"])
        #expect(stored.name == "greeter" && stored.address == "127.0.0.1" && stored.port == 8080)
        #expect(stored.check?.status == "passing")
        #expect(stored.check?.deregisterAfter == .seconds(65))
        await registry.shutdown()
        await agent.stop()
    }

    @Test func longTTLGetsTTLPlusSplayAndNoTTLSendsNoCheck() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent)
        try await registry.register(ConsulTest.record("long", nodes: ["long-1"]), ttl: .seconds(90))
        try await registry.register(ConsulTest.record("none", nodes: ["none-1"]), ttl: nil)
        let bodies = agent.requests.filter { $0.path == "/v1/agent/service/register" }.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.count == 2)
        #expect(bodies[0].hasSuffix(#""Check":{"TTL":"1m30s","DeregisterCriticalServiceAfter":"1m35s"},"Checks":null}"#))
        #expect(bodies[1].hasSuffix(#""Check":null,"Checks":null}"#))
        // Without a TTL there is no check to pass.
        #expect(!agent.requests.contains { $0.path.hasSuffix("service:none-1") })
        await registry.shutdown()
        await agent.stop()
    }

    @Test func reRegisteringAnUnchangedNodeOnlyPassesItsCheck() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent)
        let record = ConsulTest.record(nodes: ["conf-a"])
        try await registry.register(record, ttl: .seconds(30))
        agent.clearRequests()
        try await registry.register(record, ttl: .seconds(30))
        #expect(agent.requests.map(\.description) == ["PUT /v1/agent/check/pass/service%3Aconf-a?note="])
        // A change registers in full again.
        agent.clearRequests()
        try await registry.register(ConsulTest.record(nodes: ["conf-a"], meta: ["rev": "2"]), ttl: .seconds(30))
        #expect(agent.requests.map(\.path) == ["/v1/agent/service/register", "/v1/agent/check/pass/service:conf-a"])
        // The agent lost the service (restarted): the pass fails with 404 and the node is registered again.
        agent.forgetAll()
        agent.clearRequests()
        try await registry.register(ConsulTest.record(nodes: ["conf-a"], meta: ["rev": "2"]), ttl: .seconds(30))
        #expect(agent.requests.map(\.path) == ["/v1/agent/check/pass/service:conf-a", "/v1/agent/service/register", "/v1/agent/check/pass/service:conf-a"])
        #expect(agent.services["conf-a"]?.check?.status == "passing")
        await registry.shutdown()
        await agent.stop()
    }

    @Test func deregisterAndQueriesUseTheDocumentedPaths() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent)
        let record = ConsulTest.record(nodes: ["conf-a"])
        try await registry.register(record, ttl: .seconds(30))
        agent.clearRequests()
        #expect(try await registry.getService("conf") == [record])
        #expect(try await registry.listServices().map(\.name) == ["conf", "consul"])
        try await registry.deregister(record)
        // Deregistering an unknown node is not an error.
        try await registry.deregister(record)
        let r = agent.requests
        #expect(r.map(\.description) == [
            "GET /v1/health/service/conf?passing=1&stale=",
            "GET /v1/catalog/services?stale=",
            "PUT /v1/agent/service/deregister/conf-a",
            "PUT /v1/agent/service/deregister/conf-a",
        ])
        #expect(agent.services.isEmpty)
        #expect(try await registry.getService("conf").isEmpty)
        await registry.shutdown()
        await agent.stop()
    }

    @Test func deregisterWithoutNodesRemovesTheVersionsNodes() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent)
        try await registry.register(ConsulTest.record(version: "1", nodes: ["a", "b"]), ttl: .seconds(30))
        try await registry.register(ConsulTest.record(version: "2", nodes: ["c"]), ttl: .seconds(30))
        try await registry.deregister(ServiceRecord(name: "conf", version: "1"))
        #expect(Set(agent.services.keys) == ["c"])
        await registry.shutdown()
        await agent.stop()
    }

    @Test func tokenAndDatacenterAndStaleOptions() async throws {
        let agent = try await ConsulFixtureAgent(requiredToken: "s3cr3t")
        let anonymous = ConsulTest.registry(agent)
        await #expect { try await anonymous.register(ConsulTest.record(nodes: ["t-1"]), ttl: .seconds(30)) } throws: {
            ($0 as? ConsulError)?.code == .permissionDenied && ($0 as? ConsulError)?.status == 403
        }
        let registry = ConsulTest.registry(agent) { c in
            c.token = "s3cr3t"
            c.datacenter = "dc1"
            c.allowStale = false
            c.passingOnly = false
        }
        agent.clearRequests()
        try await registry.register(ConsulTest.record(nodes: ["t-1"]), ttl: .seconds(30))
        #expect(try await registry.getService("conf").flatMap(\.nodes).map(\.id) == ["t-1"])
        let watch = try await registry.watch(service: "conf")
        let log = EventLog(watch)
        try await registry.deregister(ConsulTest.record(nodes: ["t-1"]))
        #expect(await ConsulTest.eventually { log.contains(.delete) })
        let requests = agent.requests
        #expect(requests.allSatisfy { $0.header("X-Consul-Token") == "s3cr3t" })
        #expect(requests.contains { $0.description == "GET /v1/health/service/conf?dc=dc1" })
        #expect(requests.contains { $0.path == "/v1/health/service/conf" && $0.queryValue("index") != nil && $0.queryValue("wait") == "2000ms" })
        let wrongDC = ConsulTest.registry(agent) { c in
            c.token = "s3cr3t"
            c.datacenter = "dc9"
        }
        await #expect { try await wrongDC.getService("conf") } throws: {
            ($0 as? ConsulError)?.code == .agentError && ($0 as? ConsulError)?.status == 500 && ($0 as? ConsulError)?.message == "No path to datacenter"
        }
        log.task.cancel()
        for r in [anonymous, registry, wrongDC] { await r.shutdown() }
        await agent.stop()
    }

    /// The HTTP client keeps connections alive: many requests, few connections.
    @Test func requestsReuseKeepAliveConnections() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent)
        for _ in 0..<30 { _ = try await registry.getService("nobody") }
        #expect(agent.connectionsAccepted <= 2)
        await registry.shutdown()
        await agent.stop()
    }
}
