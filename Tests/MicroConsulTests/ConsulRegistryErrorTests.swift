@testable import ConsulClient
import Foundation
@testable import MicroConsul
import MicroCore
import MicroTestSupport
import Testing

/// Agent failures become typed errors quickly, and a dead agent hands over to the next in the list.
@Suite(.serialized) struct ConsulRegistryErrorTests {
    static func code(_ error: any Error) -> ConsulError.Code? { (error as? ConsulError)?.code }

    @Test func agentErrorsAreTyped() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent) { $0.maxResponseBytes = 64 * 1024 }
        agent.inject(.status(500, "rpc error making call: No cluster leader"), path: "/v1/health/service/")
        await #expect { try await registry.getService("x") } throws: { e in
            let c = e as? ConsulError
            return c?.code == .agentError && c?.status == 500 && c?.message == "rpc error making call: No cluster leader" && c?.endpoint == agent.address
        }
        agent.inject(.malformedJSON, path: "/v1/health/service/")
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .invalidResponse }
        agent.inject(.malformedJSON, path: "/v1/catalog/services")
        await #expect { try await registry.listServices() } throws: { Self.code($0) == .invalidResponse }
        agent.inject(.noIndex, path: "/v1/health/service/")
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .invalidResponse }
        agent.inject(.oversized(200 * 1024), path: "/v1/health/service/")
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .responseTooLarge }
        agent.inject(.status(400, "Request decode failed"), path: "/v1/agent/service/register")
        await #expect { try await registry.register(ConsulTest.record(nodes: ["a"]), ttl: .seconds(5)) } throws: { Self.code($0) == .badRequest }
        agent.inject(.status(429, "rate limited"), path: "/v1/health/service/")
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .rateLimited }
        agent.inject(.close, path: "/v1/health/service/", times: 2)
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .unavailable }
        agent.clearFaults()
        // After all that the registry still works.
        #expect(try await registry.getService("x").isEmpty)
        #expect(ConsulError(.agentError, "x", status: 500).microError.code == 500)
        #expect(ConsulError(.unavailable, "x").microError.code == 503)
        await registry.shutdown()
        await agent.stop()
    }

    @Test func aHangingAgentTimesOutWithoutHanging() async throws {
        let agent = try await ConsulFixtureAgent()
        let registry = ConsulTest.registry(agent) { $0.requestTimeout = .milliseconds(300) }
        agent.inject(.hang, path: "/v1/health/service/")
        let start = ContinuousClock.now
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .timeout }
        #expect(ContinuousClock.now - start < .seconds(2))
        await registry.shutdown()
        await agent.stop()
    }

    @Test func connectionRefusedFailsOverToTheNextAgent() async throws {
        let agent = try await ConsulFixtureAgent()
        let dead = "127.0.0.1:\(ConsulTest.closedPort())"
        let registry = ConsulRegistry(configuration: ConsulTest.configuration([dead, agent.address]))
        try await registry.register(ConsulTest.record(nodes: ["f-1"]), ttl: .seconds(30))
        #expect(await ConsulTest.nodeIDs(registry, "conf") == ["f-1"])
        // A 503 from an agent hands over too; a 500 does not.
        let second = try await ConsulFixtureAgent()
        let pair = ConsulRegistry(configuration: ConsulTest.configuration([second.address, agent.address]))
        second.inject(.status(503, "unavailable"), path: "/v1/health/service/")
        #expect(try await pair.getService("conf").flatMap(\.nodes).map(\.id) == ["f-1"])
        // It stays on the agent that answered.
        #expect(try await pair.getService("conf").flatMap(\.nodes).map(\.id) == ["f-1"])
        #expect(second.requests.count == 1)
        await registry.shutdown()
        await pair.shutdown()
        await second.stop()
        await agent.stop()
    }

    @Test func noAgentReachableIsUnavailable() async throws {
        let registry = ConsulRegistry(addresses: "127.0.0.1:\(ConsulTest.closedPort()),127.0.0.1:\(ConsulTest.closedPort())")
        let start = ContinuousClock.now
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .unavailable }
        await #expect { try await registry.watch(service: nil) } throws: { Self.code($0) == .unavailable }
        #expect(ContinuousClock.now - start < .seconds(5))
        await registry.shutdown()
        await #expect { try await registry.getService("x") } throws: { Self.code($0) == .shutdown }
    }

    @Test func invalidInput() async throws {
        let registry = ConsulRegistry(addresses: nil)
        #expect(registry.name == "consul")
        #expect(registry.configuration.addresses == ["127.0.0.1:8500"])
        await #expect { try await registry.register(ServiceRecord(name: "", nodes: [Node(id: "a", address: "h:1")]), ttl: nil) } throws: {
            Self.code($0) == .invalidArgument
        }
        await #expect { try await registry.register(ServiceRecord(name: "a"), ttl: nil) } throws: { Self.code($0) == .invalidArgument }
        await registry.shutdown()
    }
}
