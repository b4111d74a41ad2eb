import ConsulClient
import Configuration
import Foundation
import MetricsTestKit
import MicroConfig
import MicroConsul
import MicroCore
import MicroNATS
import MicroTestSupport
import NATSClient
import NIOCore
import ServiceLifecycle
import Testing

private func running<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        defer { group.cancelAll() }
        return try await body()
    }
}

private func refused(_ metrics: TestMetrics, _ source: String) -> Int64? {
    (try? metrics.expectCounter("micro_config_refused_total", [("source", source)]))?.totalValue
}

@Suite(.serialized) struct NATSConfigSourceTests {
    @Test func bucketLayoutIsReadWatchedRefusedAndSurvivesARestart() async throws {
        let server = try await NATSServerProcess(jetStream: true)
        defer { server.stop() }
        let source = try NATSConfigSource(options: NATSOptions(servers: [server.url]))
        // No bucket yet: nothing to read, and the provider starts empty.
        #expect(try await source.entries().isEmpty)
        try await source.put(.root, document: Array(#"{"greeter":{"greeting":"root"},"top":1}"#.utf8))
        try await source.put(try ConfigPath("greeter"), document: Array(#"{"greeting":"Hi"}"#.utf8))
        #expect(try await source.entries().count == 2)

        // A key of the bucket outside the layout is not read; one under it with odd characters refuses the set.
        let other = try await NATSConnection.connect(NATSOptions(servers: [server.url]))
        let kv = try #require(try await JetStream(connection: other).keyValue("default"))
        _ = try await kv.put("unrelated", value: ByteBuffer(string: "not json"))

        let metrics = TestMetrics()
        let provider = await ConfigSourceProvider(source: source, home: nil, maxRetryDelay: .milliseconds(300), metrics: metrics)
        #expect(provider.origin == .source)
        let reader = ConfigReader(provider: provider)
        #expect(reader.string(forKey: "greeter.greeting") == "Hi")
        #expect(reader.int(forKey: "top") == 1)
        try await running([provider]) {
            try await source.put(try ConfigPath("greeter"), document: Array(#"{"greeting":"Hola"}"#.utf8))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "Hola" })
            _ = try await kv.put("micro_config/greeter", value: ByteBuffer(string: #"{"greeting":"#))
            #expect(await ConfigTest.eventually { refused(metrics, "nats") == 1 })
            _ = try await kv.put("micro_config/odd=key", value: ByteBuffer(string: "1"))
            #expect(await ConfigTest.eventually { refused(metrics, "nats") == 2 })
            #expect(reader.string(forKey: "greeter.greeting") == "Hola")
            _ = try await kv.delete("micro_config/odd=key")
            _ = try await kv.put("micro_config/greeter", value: ByteBuffer(string: #"{"greeting":"ok"}"#))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "ok" })
            #expect(try await source.delete(try ConfigPath("greeter")))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "root" })

            // The server goes away: the last good snapshot stays; back (same store), changes flow again.
            server.stop()
            try await Task.sleep(for: .milliseconds(500))
            #expect(reader.string(forKey: "greeter.greeting") == "root")
            try await server.start()
            try await Task.sleep(for: .milliseconds(300))
            try await source.put(try ConfigPath("greeter"), document: Array(#"{"greeting":"after"}"#.utf8))
            #expect(await ConfigTest.eventually(.seconds(20)) { reader.string(forKey: "greeter.greeting") == "after" })
        }
        await other.close()
        await source.shutdown()
    }
}

@Suite(.serialized) struct ConsulConfigSourceTests {
    @Test func keyValueLayoutIsReadWatchedWithBlockingQueriesAndRefused() async throws {
        let agent = try await ConsulFixtureAgent()
        let source = ConsulConfigSource(addresses: agent.address)
        #expect(try await source.entries().isEmpty)
        try await source.put(.root, document: Array(#"{"greeter":{"greeting":"root"}}"#.utf8))
        try await source.put(try ConfigPath("greeter"), document: Array(#"{"greeting":"Hi"}"#.utf8))
        let client = ConsulAgentClient(configuration: ConsulAgentConfiguration(addresses: agent.address))
        try await client.putKeyValue("micro/configuration", value: Array("not ours".utf8))
        #expect(try await client.keyValues(prefix: "micro/config/").value.map(\.key) == ["micro/config/greeter"])

        let metrics = TestMetrics()
        let provider = await ConfigSourceProvider(source: source, home: nil, metrics: metrics)
        let reader = ConfigReader(provider: provider)
        #expect(reader.string(forKey: "greeter.greeting") == "Hi")
        try await running([provider]) {
            // The watch is a blocking query: it waits on the agent until the change comes.
            #expect(await ConfigTest.eventually { agent.requests.contains { $0.path.hasPrefix("/v1/kv/micro/config") && $0.queryValue("index") != nil } })
            try await source.put(try ConfigPath("greeter"), document: Array(#"{"greeting":"Hola"}"#.utf8))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "Hola" })
            try await client.putKeyValue("micro/config/greeter", value: Array(#"{"greeting":"#.utf8))
            #expect(await ConfigTest.eventually { refused(metrics, "consul") == 1 })
            try await client.putKeyValue("micro/config/odd key", value: Array("1".utf8))
            #expect(await ConfigTest.eventually { refused(metrics, "consul") == 2 })
            #expect(reader.string(forKey: "greeter.greeting") == "Hola")
            try await client.deleteKeyValue("micro/config/odd key")
            try await client.putKeyValue("micro/config/greeter", value: Array(#"{"greeting":"ok"}"#.utf8))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "ok" })
            #expect(try await source.delete(try ConfigPath("greeter")))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "root" })
            #expect(try await !source.delete(try ConfigPath("greeter")))
        }
        await client.shutdown()
        await source.shutdown()
        await agent.stop()
    }

    @Test func malformedKeyValueAnswersAreTypedErrors() async throws {
        let agent = try await ConsulFixtureAgent()
        let client = ConsulAgentClient(configuration: ConsulAgentConfiguration(addresses: agent.address))
        agent.inject(.malformedJSON, path: "/v1/kv/")
        await #expect(throws: ConsulError.self) { _ = try await client.keyValues(prefix: "micro/config") }
        agent.inject(.noIndex, path: "/v1/kv/")
        await #expect(throws: ConsulError.self) { _ = try await client.keyValues(prefix: "micro/config") }
        for bad in [#"[{"Key":"micro/config","Value":"%%%"}]"#, #"{"Key":1}"#, String(repeating: "[", count: 100)] {
            #expect(throws: ConsulError.self) { _ = try ConsulKeyValue.decodeList(Array(bad.utf8)) }
        }
        await client.shutdown()
        await agent.stop()
    }
}
