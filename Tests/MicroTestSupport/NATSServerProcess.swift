import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real `nats-server` started for one test, on a free loopback port, killed by its pid.
///
/// The binary is `$MICRO_NATS_SERVER`, else `/usr/sbin/nats-server`, else `nats-server` on PATH.
/// When it is missing the test fails if `CI` is set, and is reported as an error otherwise too:
/// engine tests never pass silently without their engine.
public final class NATSServerProcess: @unchecked Sendable {
    /// The client port (127.0.0.1).
    public let port: Int
    /// `nats://127.0.0.1:PORT`.
    public var url: String { "nats://127.0.0.1:\(port)" }
    /// Extra arguments (auth, TLS, limits) passed on every start.
    public let arguments: [String]
    public let directory: URL
    private var process: SpawnedProcess?

    /// The nats-server binary, or a thrown error naming what is missing.
    public static func binary() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MICRO_NATS_SERVER"], !env.isEmpty { candidates.append(env) }
        candidates.append("/usr/sbin/nats-server")
        candidates.append("/usr/bin/nats-server")
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw EngineMissing(description: "nats-server not found (set MICRO_NATS_SERVER or run ./scripts/test, which installs it)")
    }

    /// Starts a server with `arguments` added (e.g. `["--user", "a", "--pass", "b"]`) and waits until it accepts connections.
    /// With `jetStream`, JetStream is on (`-js`) with file storage in ``jetStreamDirectory`` (`-sd`),
    /// which a restart of this value keeps.
    public init(arguments: [String] = [], port: Int? = nil, jetStream: Bool = false) async throws {
        self.port = try port ?? freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nats-\(UUID().uuidString.prefix(8))")
        self.arguments = arguments + (jetStream ? ["-js", "-sd", directory.appendingPathComponent("jetstream").path] : [])
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await start()
    }

    /// Where a JetStream server keeps its streams (`-sd`).
    public var jetStreamDirectory: URL { directory.appendingPathComponent("jetstream") }

    /// Starts (or restarts, on the same port) the server and waits until it accepts connections.
    public func start() async throws {
        precondition(process == nil, "already running")
        let p = try SpawnedProcess(try Self.binary(),
                                   ["-a", "127.0.0.1", "-p", "\(port)", "-l", directory.appendingPathComponent("nats.log").path] + arguments)
        process = p
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if canConnect(port: port) { return }
            if !p.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("nats.log"), encoding: .utf8)) ?? ""
        stop()
        throw EngineMissing(description: "nats-server did not start on port \(port): \(log.suffix(500))")
    }

    /// Kills the server with SIGKILL (a crash, not a shutdown) and reaps it.
    public func kill() {
        process?.kill()
        process = nil
    }

    /// Stops the server (SIGTERM, then SIGKILL after 2 s) and reaps it.
    public func stop() {
        process?.terminate(grace: .seconds(2))
        process = nil
    }

    /// The server's log so far (for failure messages).
    public var log: String { (try? String(contentsOf: directory.appendingPathComponent("nats.log"), encoding: .utf8)) ?? "" }

    /// The server's process id while it runs.
    public var pid: Int32? { process?.pid }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: One JetStream server for many tests

    private static let sharedServer = Mutex<Task<NATSServerProcess, any Error>?>(nil)
    private static let sharedRunning = Mutex<NATSServerProcess?>(nil)

    /// One JetStream server for every test of this process that does not stop it (tests keep apart by
    /// names of their own), started on first use and stopped (by its pid) when the process exits.
    public static func sharedJetStream() async throws -> NATSServerProcess {
        let task = sharedServer.withLock { slot -> Task<NATSServerProcess, any Error> in
            if let existing = slot { return existing }
            let started = Task {
                let server = try await NATSServerProcess(jetStream: true)
                sharedRunning.withLock { $0 = server }
                return server
            }
            slot = started
            atexit { NATSServerProcess.stopShared() }
            return started
        }
        return try await task.value
    }

    /// Stops the shared server if it started (an `atexit` hook: never waits for a task).
    private static func stopShared() {
        let server = sharedRunning.withLock { s -> NATSServerProcess? in defer { s = nil }; return s }
        guard let server else { return }
        server.stop()
        try? FileManager.default.removeItem(at: server.directory)
    }
}

/// An engine a test needs is not installed or did not start.
public struct EngineMissing: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = FreePorts.loopback(port: port)
    let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    return r == 0
}

/// The venv Python with nats-py (`$MICRO_TEST_PYTHON`, else `.venv/bin/python` in the package), or a thrown error.
public func testPython() throws -> String {
    if let p = ProcessInfo.processInfo.environment["MICRO_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: p) { return p }
    let local = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".venv/bin/python").path
    if FileManager.default.isExecutableFile(atPath: local) { return local }
    throw EngineMissing(description: "python with nats-py not found (run ./scripts/test, which makes .venv)")
}
