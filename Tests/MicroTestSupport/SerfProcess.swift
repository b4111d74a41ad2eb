import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `serf agent` started for one test on free loopback ports, known by its pid and killed by it.
///
/// Binary: `$MICRO_SERF` else `/usr/bin/serf` (Debian's `serf`). A missing binary is an
/// ``EngineMissing`` error, so interop tests fail rather than pass without serf.
public final class SerfProcess: @unchecked Sendable {
    // Safety: the process is touched only by the test that owns this value.

    /// One member as `serf members -format=json` lists it.
    public struct Member: Sendable, Decodable, Hashable {
        /// The node name.
        public var name: String
        /// `ip:port`.
        public var addr: String
        /// `alive`, `leaving`, `left` or `failed`.
        public var status: String
        /// Its tags.
        public var tags: [String: String]?
    }

    /// The agent's node name.
    public let name: String
    /// The gossip port (UDP and TCP, 127.0.0.1).
    public let port: Int
    /// The RPC port (127.0.0.1).
    public let rpcPort: Int
    /// The directory holding the agent's log.
    public let directory: URL
    private var process: SpawnedProcess?

    /// `127.0.0.1:PORT`, where members join the agent.
    public var address: String { "127.0.0.1:\(port)" }

    /// The serf binary, or a thrown error naming what is missing.
    public static func binary() throws -> String {
        var candidates: [String] = []
        if let e = ProcessInfo.processInfo.environment["MICRO_SERF"], !e.isEmpty { candidates.append(e) }
        candidates += ["/usr/bin/serf", "/usr/local/bin/serf"]
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw EngineMissing(description: "serf not found (set MICRO_SERF or run ./scripts/test, which installs serf)")
    }

    /// Starts an agent named `name` that joins `join` (retrying every second), and waits until its RPC answers.
    public init(name: String = "serf-\(UUID().uuidString.prefix(6).lowercased())", join: [String] = [], tags: [String: String] = [:]) async throws {
        let binary = try Self.binary()
        self.name = name
        port = try freePort()
        var rpc = try freePort()
        while rpc == port { rpc = try freePort() }
        rpcPort = rpc
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("serf-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var args = ["agent", "-node=\(name)", "-bind=127.0.0.1:\(port)", "-advertise=127.0.0.1:\(port)", "-rpc-addr=127.0.0.1:\(rpcPort)", "-log-level=debug"]
        for j in join { args += ["-retry-join=\(j)"] }
        if !join.isEmpty { args.append("-retry-interval=1s") }
        for (k, v) in tags { args.append("-tag=\(k)=\(v)") }
        let p = try SpawnedProcess(binary, args, output: logURL)
        process = p
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if !p.isRunning { break }
            if canConnect(port: rpcPort), (try? members()) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw EngineMissing(description: "serf agent did not start: \(self.log.suffix(800))")
    }

    private var logURL: URL { directory.appendingPathComponent("serf.log") }

    /// The agent's log so far.
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// The pid while it runs.
    public var pid: Int32? { process.flatMap { $0.isRunning ? $0.pid : nil } }

    /// Runs `serf` with `args` against this agent's RPC; returns stdout, throws when it fails.
    @discardableResult
    public func command(_ args: [String]) throws -> String {
        try ChildProcess.run(try Self.binary(), args + ["-rpc-addr=127.0.0.1:\(rpcPort)"], timeout: .seconds(30))
    }

    /// `serf members -format=json`.
    public func members() throws -> [Member] {
        struct List: Decodable { var members: [Member] }
        let text = try command(["members", "-format=json"])
        return try JSONDecoder().decode(List.self, from: Data(text.utf8)).members
    }

    /// Kills the agent with SIGKILL (a crash) and reaps it.
    public func kill() {
        process?.kill()
        process = nil
    }

    /// Stops the agent (SIGTERM, then SIGKILL after 3 s) and reaps it.
    public func stop() {
        process?.terminate(grace: .seconds(3))
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
