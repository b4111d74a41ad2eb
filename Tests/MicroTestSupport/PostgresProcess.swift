import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server started for tests: `initdb` into a temporary directory, then `postgres`
/// on a free loopback port (its Unix socket in that directory too), known by its pid and stopped by it.
///
/// Binaries: `$MICRO_POSTGRES_BIN`, else `/usr/lib/postgresql/15/bin` (Debian's `postgresql`), else the
/// newest `/usr/lib/postgresql/*/bin`. A missing server is an ``EngineMissing`` error, so engine tests
/// never pass silently without it (`scripts/test` installs it). PostgreSQL refuses to run as root: as
/// root, the directory is handed to the `postgres` user and `initdb` runs under `runuser -u postgres`,
/// the server under `setpriv` (which execs in place, so the pid spawned is the postmaster's).
/// The cluster is UTF8 with the C locale, trust authentication for user `postgres`.
public final class PostgresProcess: @unchecked Sendable {
    // Safety: the process handle is touched only by the test that owns this value (and ``shared()``'s exit hook).

    /// The port on 127.0.0.1.
    public let port: Int
    /// The directory holding the cluster (`data`), the socket and the log.
    public let directory: URL
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    private let process = Mutex<SpawnedProcess?>(nil)

    /// The directory of `initdb`, `postgres`, `psql` and `pg_isready`, or a thrown error naming what is missing.
    public static func binDirectory() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MICRO_POSTGRES_BIN"], !env.isEmpty { candidates.append(env) }
        candidates.append("/usr/lib/postgresql/15/bin")
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c + "/postgres")
            && FileManager.default.isExecutableFile(atPath: c + "/initdb") {
            return c
        }
        throw EngineMissing(description: "PostgreSQL not found (set MICRO_POSTGRES_BIN or run ./scripts/test, which installs postgresql)")
    }

    /// Makes a cluster and starts the server on it; waits until it accepts queries.
    public init() async throws {
        let bin = try Self.binDirectory()
        port = try freePort()
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("micro-postgres-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        do {
            if let owner = Self.serverUser() {
                guard chown(directory.path, owner.uid, owner.gid) == 0 else {
                    throw EngineMissing(description: "cannot hand \(directory.path) to the postgres user: \(String(cString: strerror(errno)))")
                }
            }
            let initdb = [bin + "/initdb", "-D", dataDirectory.path, "-U", "postgres", "--auth=trust", "--no-sync",
                          "--encoding=UTF8", "--locale=C", "--no-instructions"]
            let command = Self.serverUser() == nil ? initdb : ["/usr/sbin/runuser", "-u", "postgres", "--"] + initdb
            try ChildProcess.run(command[0], Array(command.dropFirst()), timeout: .seconds(120))
            try await start()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// The cluster's data directory.
    public var dataDirectory: URL { directory.appendingPathComponent("data") }

    private var logURL: URL { directory.appendingPathComponent("postgres.log") }

    /// The user the server runs as when this process is root (`postgres`); nil when it is not root.
    private static func serverUser() -> (uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0, let entry = getpwnam("postgres") else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Starts (or restarts, on the same port and data) the server and waits until it accepts queries.
    public func start(timeout: Duration = .seconds(60)) async throws {
        precondition(process.withLock { $0 == nil }, "already running")
        let bin = try Self.binDirectory()
        let server = [bin + "/postgres", "-D", dataDirectory.path, "-p", "\(port)", "-k", directory.path,
                      "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
        let command = Self.serverUser() == nil
            ? server : ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + server
        let p = try SpawnedProcess(command[0], Array(command.dropFirst()), output: logURL)
        process.withLock { $0 = p }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !p.isRunning { break }
            if canConnect(port: port),
               let ready = try? await ChildProcess.outcome(bin + "/pg_isready", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-t", "2"],
                                                           timeout: .seconds(5)),
               ready.status == 0 {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = self.log
        stop()
        throw EngineMissing(description: "postgres did not start on port \(port): \(log.suffix(800))")
    }

    /// Stops the server with a fast shutdown (SIGINT: clients are disconnected, a checkpoint is
    /// written), SIGQUIT after `grace` and SIGKILL after that; reaps it.
    public func stop(grace: Duration = .seconds(10)) {
        guard let p = process.withLock({ p -> SpawnedProcess? in defer { p = nil }; return p }) else { return }
        p.signal(SIGINT)
        if p.wait(timeout: grace) { return }
        p.terminate(signal: SIGQUIT, grace: .seconds(5))
    }

    /// Stops the server with an immediate shutdown (SIGQUIT: no checkpoint, as after a crash; the next
    /// start replays the write-ahead log); reaps it.
    public func crash() {
        guard let p = process.withLock({ p -> SpawnedProcess? in defer { p = nil }; return p }) else { return }
        p.terminate(signal: SIGQUIT, grace: .seconds(10))
    }

    /// The postmaster's pid while it runs.
    public var pid: Int32? { process.withLock { $0?.isRunning == true ? $0?.pid : nil } }

    /// Runs `sql` with psql (as user `postgres`, database `postgres`, stopping at the first error) and
    /// returns what it printed, unaligned and tuples only; throws when it fails.
    @discardableResult
    public func psql(_ sql: String, timeout: Duration = .seconds(30)) async throws -> String {
        let outcome = try await ChildProcess.outcome(try Self.binDirectory() + "/psql", [
            "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-X", "-q", "-A", "-t",
            "-v", "ON_ERROR_STOP=1", "-c", sql,
        ], environment: ["PGCONNECT_TIMEOUT": "5"], timeout: timeout)
        guard outcome.status == 0, !outcome.timedOut else {
            throw EngineMissing(description: "psql failed (status \(outcome.status)): \(outcome.stderr) \(outcome.stdout)")
        }
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The server's log so far (for failure messages).
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: One server for many tests

    private static let sharedServer = Mutex<Task<PostgresProcess, any Error>?>(nil)

    /// One server for every test of this process that does not stop it, started on first use and
    /// stopped (by its pid) when the process exits.
    public static func shared() async throws -> PostgresProcess {
        let task = sharedServer.withLock { slot -> Task<PostgresProcess, any Error> in
            if let existing = slot { return existing }
            let started = Task {
                let server = try await PostgresProcess()
                sharedRunning.withLock { $0 = server }
                return server
            }
            slot = started
            atexit { PostgresProcess.stopShared() }
            return started
        }
        return try await task.value
    }

    /// Stops the shared server if it started (an `atexit` hook: never waits for a task).
    private static func stopShared() {
        let server = sharedRunning.withLock { s -> PostgresProcess? in defer { s = nil }; return s }
        guard let server else { return }
        server.stop(grace: .seconds(5))
        try? FileManager.default.removeItem(at: server.directory)
    }

    /// The shared server once it started (the exit hook cannot await ``sharedServer``'s task).
    private static let sharedRunning = Mutex<PostgresProcess?>(nil)
}
