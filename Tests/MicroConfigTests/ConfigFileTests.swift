import Configuration
import Foundation
import MicroConfig
import MicroCore
import ServiceLifecycle
import Testing

@Suite struct ConfigFileTests {
    private func write(_ text: String, to path: String) throws {
        // Replaced whole (as editors and deploy tools do), so a poll sees the old file or the new one.
        let temporary = path + ".tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, path)
    }

    private func check(_ name: String, good: String, truncated: String, next: String) async throws {
        let home = ConfigTest.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = home + "/" + name
        try write(good, to: file)
        let config = try await ServiceConfig.standard(arguments: [], environment: ["MICRO_CONFIG_FILE": file, "MICRO_CONFIG_POLL": "0.05"],
                                                      defaults: ["greeter.greeting": "default"])
        let section = ConfigSection("greeter", reader: config.reader, default: GreeterSettings(greeting: "code"))
        #expect(section.value.greeting == "one")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await config.run() }
            group.addTask { try await section.run() }
            defer { group.cancelAll() }
            // Truncated mid-write: the last good snapshot stays.
            try Data(truncated.utf8).write(to: URL(fileURLWithPath: file))
            try await Task.sleep(for: .milliseconds(300))
            #expect(section.value.greeting == "one")
            // Deleted: the last good snapshot stays.
            try FileManager.default.removeItem(atPath: file)
            try await Task.sleep(for: .milliseconds(300))
            #expect(section.value.greeting == "one")
            #expect(config.reader.string(forKey: "greeter.greeting") == "one")
            // Back: changes flow again.
            try write(next, to: file)
            #expect(await ConfigTest.eventually { section.value.greeting == "two" })
        }
    }

    @Test func jsonFileGoneOrTruncatedKeepsLastGood() async throws {
        try await check("service.json", good: #"{"greeter":{"greeting":"one"}}"#, truncated: #"{"greeter":{"gree"#,
                        next: #"{"greeter":{"greeting":"two"}}"#)
    }

    @Test func yamlFileGoneOrInvalidKeepsLastGood() async throws {
        try await check("service.yaml", good: "greeter:\n  greeting: one\n", truncated: "greeter:\n  greeting: [one\n  - : :\n",
                        next: "greeter:\n  greeting: two\n")
    }

    @Test func invalidYAMLAtStartIsAnError() async throws {
        let home = ConfigTest.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = home + "/bad.yaml"
        try Data("greeter: [unclosed\n  - : :".utf8).write(to: URL(fileURLWithPath: file))
        await #expect(throws: (any Error).self) { _ = try await ServiceConfig.standard(arguments: [], environment: ["MICRO_CONFIG_FILE": file]) }
    }
}
