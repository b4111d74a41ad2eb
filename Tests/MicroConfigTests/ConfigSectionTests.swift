import Configuration
import Foundation
import InMemoryLogging
import MetricsTestKit
import MicroConfig
import MicroCore
import ServiceLifecycle
import Testing

private func validGreeting(_ settings: GreeterSettings) throws {
    guard (1...100).contains(settings.greeting.count) else { throw ConfigError(.invalidDocument, "greeting must be 1 to 100 characters") }
}

private func source(_ json: String) -> MemoryConfigSource {
    MemoryConfigSource([ConfigEntry(path: ConfigTest.path("greeter"), document: ConfigTest.bytes(json))])
}

private func running<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        defer { group.cancelAll() }
        return try await body()
    }
}

@Suite struct ConfigSectionTests {
    @Test func sectionDecodesThroughProvidersInOrder() async throws {
        let provider = await ConfigSourceProvider(source: source(#"{"greeting":"etcd","limits":{"max":5,"ratio":0.5},"tags":["a","b"]}"#), home: nil)
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(environmentVariables: ["GREETER_LIMITS_MAX": "9"]),
            provider,
            InMemoryProvider(values: ["greeter.greeting": "default", "other.x": 1]),
        ])
        let settings = try reader.section("greeter", as: GreeterSettings.self)
        #expect(settings == GreeterSettings(greeting: "etcd", limits: .init(max: 9, ratio: 0.5), tags: ["a", "b"]))

        // Absent optional parts are nil; a missing section is notFound; wrong types are typeMismatch.
        let bare = ConfigReader(provider: InMemoryProvider(values: ["greeter.greeting": "hi"]))
        #expect(try bare.section("greeter", as: GreeterSettings.self) == GreeterSettings(greeting: "hi"))
        #expect(throws: ConfigError.self) { try bare.section("nothing", as: GreeterSettings.self) }
        let wrong = ConfigReader(provider: await ConfigSourceProvider(source: source(#"{"greeting":5}"#), home: nil))
        #expect { try wrong.section("greeter", as: GreeterSettings.self) } throws: { error in
            if case DecodingError.typeMismatch = error { return true }
            return false
        }
        let partial = ConfigReader(provider: await ConfigSourceProvider(source: source(#"{"greeting":"x","limits":{"ratio":1}}"#), home: nil))
        #expect { try partial.section("greeter", as: GreeterSettings.self) } throws: { error in
            if case DecodingError.keyNotFound = error { return true }
            return false
        }
        let arrays = ConfigReader(provider: await ConfigSourceProvider(source: source(#"{"greeting":"x","tags":[1,2]}"#), home: nil))
        #expect(throws: DecodingError.self) { try arrays.section("greeter", as: GreeterSettings.self) }
        let big = ConfigReader(provider: InMemoryProvider(values: ["v": 300]))
        #expect(throws: DecodingError.self) { try big.section("v", as: UInt8.self) }
        #expect(try big.section("v", as: Int16.self) == 300)
    }

    @Test func liveSectionRefusesInvalidValuesAndKeepsLastGood() async throws {
        let metrics = TestMetrics()
        let logs = InMemoryLogHandler()
        let memory = source(#"{"greeting":"hello"}"#)
        let provider = await ConfigSourceProvider(source: memory, home: nil)
        let reader = ConfigReader(providers: [provider, InMemoryProvider(values: ["greeter.greeting": "default"])])
        let section = ConfigSection("greeter", reader: reader, default: GreeterSettings(greeting: "code"), validate: validGreeting,
                                    logger: ConfigTest.logger(logs), metrics: metrics)
        #expect(section.value.greeting == "hello")
        try await running([provider, section]) {
            try await memory.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"hola"}"#))
            #expect(await ConfigTest.eventually { section.value.greeting == "hola" })
            // Fails validation (too long), then fails to decode: both refused, counted and logged.
            try await memory.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"\#(String(repeating: "x", count: 101))"}"#))
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("section", "greeter")]).totalValue) == 1 })
            try await memory.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":["not","a","string"]}"#))
            #expect(await ConfigTest.eventually { (try? metrics.expectCounter("micro_config_refused_total", [("section", "greeter")]).totalValue) == 2 })
            #expect(section.value.greeting == "hola")
            #expect(logs.entries.filter { $0.level == .error }.count == 2)
            try await memory.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"back"}"#))
            #expect(await ConfigTest.eventually { section.value.greeting == "back" })
        }
    }

    @Test func watchSectionYieldsEachNewValidValueOnly() async throws {
        let memory = source(#"{"greeting":"one"}"#)
        let provider = await ConfigSourceProvider(source: memory, home: nil)
        let reader = ConfigReader(provider: provider)
        let seen = try await running([provider]) {
            try await reader.watchSection("greeter", as: GreeterSettings.self, validate: validGreeting) { updates in
                var seen: [String] = []
                for await value in updates {
                    seen.append(value.greeting)
                    switch value.greeting {
                    case "one":
                        try await memory.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":""}"#))   // invalid
                        try await memory.put(ConfigTest.path("other"), document: ConfigTest.bytes("1"))   // section unchanged
                        try await memory.put(ConfigTest.path("greeter"), document: ConfigTest.bytes(#"{"greeting":"two"}"#))
                    default:
                        return seen
                    }
                }
                return seen
            }
        }
        #expect(seen == ["one", "two"])
    }

    @Test func noSourceRunsOnDefaults() async throws {
        let config = try await ServiceConfig.standard(arguments: ["greeter"], environment: [:], defaults: ["greeter.greeting": "Hello"])
        #expect(config.sourceProvider == nil)
        #expect(try config.reader.section("greeter", as: GreeterSettings.self).greeting == "Hello")
        let section = ConfigSection("greeter", reader: config.reader, default: GreeterSettings(greeting: "code"))
        #expect(section.value.greeting == "Hello")
        let empty = try await ServiceConfig.standard(arguments: ["greeter"], environment: [:])
        #expect(ConfigSection("greeter", reader: empty.reader, default: GreeterSettings(greeting: "code")).value.greeting == "code")
    }

    @Test func standardOrderIsArgumentsEnvironmentFileSourceDefaults() async throws {
        let home = ConfigTest.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = home + "/service.json"
        try Data(#"{"a":"file","b":"file","c":"file"}"#.utf8).write(to: URL(fileURLWithPath: file))
        try await SharedMemorySource.put(["a": "source", "b": "source", "c": "source", "d": "source"])
        let config = try await ServiceConfig.standard(
            arguments: ["svc", "--a", "args"], environment: ["B": "env", "A": "env", "MICRO_CONFIG": "memory", "MICRO_CONFIG_FILE": file, "MICRO_HOME": home],
            defaults: ["a": "default", "e": "default"])
        #expect(config.sourceProvider != nil)
        let values = ["a", "b", "c", "d", "e"].map { config.reader.string(forKey: ConfigKey($0)) }
        #expect(values == ["args", "env", "file", "source", "default"])
    }

    @Test func unknownSourceAndBadPollAreErrors() async throws {
        await #expect(throws: ConfigurationError.self) { _ = try await ServiceConfig.standard(arguments: [], environment: ["MICRO_CONFIG": "zookeeper"]) }
        await #expect(throws: ConfigurationError.self) {
            _ = try await ServiceConfig.standard(arguments: [], environment: ["MICRO_CONFIG_FILE": "/nonexistent.json", "MICRO_CONFIG_POLL": "-1"])
        }
        await #expect(throws: (any Error).self) { _ = try await ServiceConfig.standard(arguments: [], environment: ["MICRO_CONFIG_FILE": "/nonexistent/x.json"]) }
    }
}

/// The process's shared `memory` source (`MICRO_CONFIG=memory`), reached through the engine catalog.
enum SharedMemorySource {
    static func put(_ values: [String: String]) async throws {
        let source = try Engines([.inProcess]).makeConfigSource(EngineContext(environment: MicroEnvironment(["MICRO_CONFIG": "memory"])))!
        for (key, value) in values {
            try await source.put(ConfigTest.path(key), document: ConfigTest.bytes("\"\(value)\""))
        }
    }
}
