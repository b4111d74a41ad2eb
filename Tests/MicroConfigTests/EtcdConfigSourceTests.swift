import Configuration
import EtcdClient
import Foundation
import InMemoryLogging
import MetricsTestKit
import MicroConfig
import MicroCore
import MicroEtcd
import MicroTestSupport
import ServiceLifecycle
import Testing

private func validGreeting(_ settings: GreeterSettings) throws {
    guard (1...100).contains(settings.greeting.count) else { throw ConfigError(.invalidDocument, "greeting must be 1 to 100 characters") }
}

private func running<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        defer { group.cancelAll() }
        return try await body()
    }
}

@Suite(.serialized) struct EtcdConfigSourceTests {
    @Test func goMicroLayoutIsReadWatchedAndBadDocumentsRefused() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        // Written by etcdctl, as a Go service's operator would: documents under the prefix, merged by path.
        _ = try etcd.ctl(["put", "/micro/config", #"{"greeter":{"greeting":"root"},"top":1}"#])
        _ = try etcd.ctl(["put", "/micro/config/greeter", #"{"greeting":"Hi"}"#])
        _ = try etcd.ctl(["put", "/micro/config/database/address", #""127.0.0.1:5432""#])
        _ = try etcd.ctl(["put", "/micro/configuration", "not ours"])

        let metrics = TestMetrics()
        let source = try EtcdConfigSource(addresses: etcd.addressList)
        let provider = await ConfigSourceProvider(source: source, home: nil, metrics: metrics)
        #expect(provider.origin == .source)
        let reader = ConfigReader(provider: provider)
        #expect(reader.string(forKey: "database.address") == "127.0.0.1:5432")
        #expect(reader.int(forKey: "top") == 1)
        let section = ConfigSection("greeter", reader: reader, default: GreeterSettings(greeting: "code"), validate: validGreeting, metrics: metrics)
        #expect(section.value.greeting == "Hi")

        try await running([provider, section]) {
            try await source.put(try ConfigPath("greeter"), document: Array(#"{"greeting":"Hola"}"#.utf8))
            #expect(try etcd.ctl(["get", "/micro/config/greeter", "--print-value-only"]).contains("Hola"))
            #expect(await ConfigTest.eventually { section.value.greeting == "Hola" })
            // Our client refuses to write a bad document; a bad one written by someone else is refused by readers.
            await #expect(throws: ConfigError.self) { try await source.put(try ConfigPath("greeter"), document: Array("{".utf8)) }
            _ = try etcd.ctl(["put", "/micro/config/greeter", #"{"greeting":"#])
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("source", "etcd")]).totalValue) == 1 })
            // A key with odd characters refuses the whole set too, as long as it is there.
            _ = try etcd.ctl(["put", "/micro/config/odd key!", "1"])
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("source", "etcd")]).totalValue) == 2 })
            _ = try etcd.ctl(["put", "/micro/config/greeter", #"{"greeting":"ok"}"#])
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("source", "etcd")]).totalValue) == 3 })
            #expect(section.value.greeting == "Hola")
            _ = try etcd.ctl(["del", "/micro/config/odd key!"])
            #expect(await ConfigTest.eventually { section.value.greeting == "ok" })
            #expect(try await source.delete(try ConfigPath("greeter")))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "root" })
            #expect(await ConfigTest.eventually { section.value.greeting == "root" })
        }
        await source.shutdown()
    }

    @Test func etcdStoppedKeepsLastGoodAndChangesFlowWhenBack() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        _ = try etcd.ctl(["put", "/micro/config/greeter", #"{"greeting":"before"}"#])
        let source = try EtcdConfigSource(addresses: etcd.addressList)
        let provider = await ConfigSourceProvider(source: source, home: nil, maxRetryDelay: .milliseconds(500))
        let reader = ConfigReader(provider: provider)
        try await running([provider]) {
            try await Task.sleep(for: .milliseconds(200))
            etcd.stop(0)
            try await Task.sleep(for: .seconds(1))
            #expect(reader.string(forKey: "greeter.greeting") == "before")
            try await etcd.restart(0)
            _ = try etcd.ctl(["put", "/micro/config/greeter", #"{"greeting":"after"}"#])
            #expect(await ConfigTest.eventually(.seconds(20)) { reader.string(forKey: "greeter.greeting") == "after" })
        }
        await source.shutdown()
    }

    @Test func restartWhileEtcdIsDownStartsFromTheSavedSnapshot() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        let home = ConfigTest.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        _ = try etcd.ctl(["put", "/micro/config/greeter", #"{"greeting":"remembered"}"#])
        let environment = ["MICRO_CONFIG": "etcd", "MICRO_CONFIG_ADDRESS": etcd.addressList, "MICRO_HOME": home]
        let engines = Engines([.inProcess, .etcd])
        let first = try await ServiceConfig.standard(arguments: [], environment: environment, engines: engines)
        #expect(first.sourceProvider?.origin == .source)
        await first.sourceProvider?.source.shutdown()
        etcd.stop(0)

        let logs = InMemoryLogHandler()
        let start = ContinuousClock.now
        let second = try await ServiceConfig.standard(arguments: [], environment: environment, engines: engines, logger: ConfigTest.logger(logs))
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(second.sourceProvider?.origin == .saved)
        #expect(second.reader.string(forKey: "greeter.greeting") == "remembered")
        #expect(logs.entries.contains { "\($0.message)".contains("started from the saved snapshot") })
        await second.sourceProvider?.source.shutdown()
    }
}
