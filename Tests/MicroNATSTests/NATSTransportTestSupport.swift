import Foundation
import Logging
import MicroCore
@testable import MicroNATS
import MicroTestSupport
@testable import NATSClient
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Helpers of the broker, registry, transport and interop tests, namespaced so they cannot clash
/// with other test files of this module.
enum NATSTestKit {
    struct Hello: Codable, Sendable, Equatable { var name: String }
    struct Reply: Codable, Sendable, Equatable { var message: String }
    struct Count: Codable, Sendable { var from: Int }
    struct Tick: Codable, Sendable, Equatable { var n: Int }

    static let json = JSONCodec()

    static func encode<T: Encodable & Sendable>(_ value: T) throws -> ByteBuffer { try json.encode(value) }

    /// A logger that is silent unless `TEST_LOG` is set.
    static var logger: Logger {
        var logger = Logger(label: "test.nats")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .trace
        return logger
    }

    /// A connection to `server`.
    static func connect(_ server: NATSServerProcess, name: String? = nil) async throws -> NATSConnection {
        var options = NATSOptions(servers: [server.url])
        options.name = name
        return try await NATSConnection.connect(options, logger: logger)
    }

    /// A value shared between tasks, behind a lock.
    final class Box<Value: Sendable>: Sendable {
        private let box: NIOLockedValueBox<Value>
        init(_ value: Value) { box = NIOLockedValueBox(value) }
        var value: Value { box.withLockedValue { $0 } }
        @discardableResult
        func update<R: Sendable>(_ body: @Sendable (inout Value) -> R) -> R { box.withLockedValue(body) }
    }

    /// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
    static func eventually(within timeout: Duration = .seconds(3), _ condition: @Sendable () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return await condition()
    }

    /// The error `body` throws (nil if it returns).
    static func caught(_ body: () async throws -> Void) async -> (any Error)? {
        do { try await body(); return nil } catch { return error }
    }

    /// How long `body` takes.
    static func elapsed(_ body: () async throws -> Void) async rethrows -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }

    /// Consumes a registry watch in the background, keeping every event.
    final class WatchLog: Sendable {
        let events = Box<[RegistryEvent]>([])
        private let task: Task<Void, Never>

        init(_ watch: RegistryWatch) {
            let events = self.events
            task = Task {
                do { for try await e in watch { events.update { $0.append(e) } } } catch {}
            }
        }

        var all: [RegistryEvent] { events.value }
        func stop() { task.cancel() }
        deinit { task.cancel() }

        /// Waits until at least `count` events arrived and returns them all.
        func wait(count: Int, timeout: Duration = .seconds(5)) async -> [RegistryEvent] {
            _ = await NATSTestKit.eventually(within: timeout) { self.all.count >= count }
            return all
        }
    }

    /// Runs `executable` with `arguments`, ending it after `timeout`; returns its exit status and output.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(20)) async throws -> ChildProcess.Outcome {
        try await ChildProcess.outcome(executable, arguments, timeout: timeout)
    }

    /// nats-server arguments loading a config file with `text` (e.g. `max_payload: 4096`).
    static func serverConfig(_ text: String) throws -> [String] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nats-test-\(UUID().uuidString.prefix(8)).conf")
        try Data(text.utf8).write(to: url)
        return ["-c", url.path]
    }

    /// The path of a Python script of these tests.
    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python/\(name)").path
    }
}
