import Foundation
import InMemoryLogging
import Logging
import MicroCore

enum ConfigTest {
    /// Waits until `condition` holds (polling every 20 ms), at most `timeout`.
    static func eventually(_ timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// A new empty directory for `$MICRO_HOME`.
    static func home() -> String {
        let dir = NSTemporaryDirectory() + "micro-config-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A logger whose messages `handler` keeps.
    static func logger(_ handler: InMemoryLogHandler) -> Logger {
        Logger(label: "test") { _ in handler }
    }

    static func path(_ text: String) -> ConfigPath {
        // Test paths are literals known to be valid.
        try! ConfigPath(text)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}

/// A source whose engine cannot be reached (what a service sees when etcd is down at start).
final class UnreachableConfigSource: ConfigSource {
    let name: String
    init(name: String) { self.name = name }
    func entries() async throws -> [ConfigEntry] { throw ConfigError(.unavailable, "connection refused") }
    func watch() async throws -> ConfigWatch { throw ConfigError(.unavailable, "connection refused") }
    func put(_ path: ConfigPath, document: [UInt8]) async throws { throw ConfigError(.unavailable, "connection refused") }
    func delete(_ path: ConfigPath) async throws -> Bool { throw ConfigError(.unavailable, "connection refused") }
    func shutdown() async {}
}
