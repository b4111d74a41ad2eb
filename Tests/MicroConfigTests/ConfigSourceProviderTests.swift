import Configuration
import Foundation
import InMemoryLogging
import MetricsTestKit
import MicroConfig
import MicroCore
import ServiceLifecycle
import Testing

struct GreeterSettings: Codable, Equatable, Sendable {
    var greeting: String
    var limits: Limits?
    var tags: [String]?

    struct Limits: Codable, Equatable, Sendable {
        var max: Int
        var ratio: Double?
    }
}

/// Runs `provider` (its watch) while `body` runs.
private func running<T: Sendable>(_ service: some Service, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await service.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

@Suite struct ConfigSourceProviderTests {
    @Test func refusedSnapshotKeepsLastGoodAndCounts() async throws {
        let metrics = TestMetrics()
        let logs = InMemoryLogHandler()
        let source = MemoryConfigSource([ConfigEntry(path: ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"hello"}"#))])
        let provider = await ConfigSourceProvider(source: source, home: nil, logger: ConfigTest.logger(logs), metrics: metrics)
        #expect(provider.origin == .source)
        let reader = ConfigReader(provider: provider)
        #expect(reader.string(forKey: "greeter.greeting") == "hello")
        try await running(provider) {
            source.putUnchecked(["greeter"], document: ConfigTest.bytes(#"{"greeting":"#))   // truncated
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("source", "memory")]).totalValue) == 1 })
            #expect(reader.string(forKey: "greeter.greeting") == "hello")
            #expect(logs.entries.contains { $0.level == .error && "\($0.message)".contains("refused") })
            // A key with odd characters refuses the whole set too.
            source.putUnchecked(["greeter", "bad key"], document: ConfigTest.bytes("1"))
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("source", "memory")]).totalValue) == 2 })
            #expect(reader.string(forKey: "greeter.greeting") == "hello")
            source.putUnchecked(["greeter", "bad key"], document: nil)
            try await source.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"again"}"#))
            #expect(await ConfigTest.eventually { reader.string(forKey: "greeter.greeting") == "again" })
        }
    }

    @Test func lostSourceKeepsLastGoodAndChangesFlowWhenBack() async throws {
        let source = MemoryConfigSource([ConfigEntry(path: ConfigTest.path("a"), document: ConfigTest.bytes("1"))])
        let provider = await ConfigSourceProvider(source: source, home: nil, retryDelay: .milliseconds(20), maxRetryDelay: .milliseconds(100))
        let reader = ConfigReader(provider: provider)
        try await running(provider) {
            try await Task.sleep(for: .milliseconds(50))
            source.failWatches(ConfigError(.unavailable, "connection lost"))
            #expect(reader.int(forKey: "a") == 1)
            try await source.put(ConfigTest.path("a"), document: ConfigTest.bytes("2"))
            #expect(await ConfigTest.eventually { reader.int(forKey: "a") == 2 })
            source.failWatches()   // a watch that just ends is watched again too
            try await source.put(ConfigTest.path("a"), document: ConfigTest.bytes("3"))
            #expect(await ConfigTest.eventually { reader.int(forKey: "a") == 3 })
        }
    }

    @Test func restartWithSourceDownStartsFromSavedSnapshotAndSaysSo() async throws {
        let home = ConfigTest.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let source = MemoryConfigSource([ConfigEntry(path: ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"saved"}"#))])
        let first = await ConfigSourceProvider(source: source, home: home)
        #expect(first.origin == .source)
        let file = home + "/config/memory.json"
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(FileManager.default.fileExists(atPath: file))

        let logs = InMemoryLogHandler()
        let down = UnreachableConfigSource(name: "memory")
        let second = await ConfigSourceProvider(source: down, home: home, logger: ConfigTest.logger(logs))
        #expect(second.origin == .saved)
        #expect(ConfigReader(provider: second).string(forKey: "greeter.greeting") == "saved")
        #expect(logs.entries.contains { "\($0.message)".contains("started from the saved snapshot") })

        // A corrupt saved file is refused: the provider starts empty (defaults apply).
        try Data("{\"greeter\":".utf8).write(to: URL(fileURLWithPath: file))
        let third = await ConfigSourceProvider(source: down, home: home)
        #expect(third.origin == .empty)
        #expect(ConfigReader(provider: third).string(forKey: "greeter.greeting") == nil)
    }

    @Test func loadGivesUpAfterTheTimeout() async throws {
        let provider = await ConfigSourceProvider(source: SilentConfigSource(), home: nil, loadTimeout: .milliseconds(200))
        #expect(provider.origin == .empty)
    }
}

/// A source that never answers (a server that accepts and says nothing).
private final class SilentConfigSource: ConfigSource {
    let name = "silent"
    func entries() async throws -> [ConfigEntry] {
        try await Task.sleep(for: .seconds(3600))
        return []
    }
    func watch() async throws -> ConfigWatch { AsyncThrowingStream<[ConfigEntry], any Error> { _ in } }
    func put(_ path: ConfigPath, document: [UInt8]) async throws {}
    func delete(_ path: ConfigPath) async throws -> Bool { false }
    func shutdown() async {}
}
