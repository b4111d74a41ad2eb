import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace made for one test, with only `lo`, up and multicast-capable and routing
/// 224.0.0.0/4 — the only place mDNS and other multicast may run (INFRA.md: in the machine's own
/// namespace 224.0.0.251 leaves through eth0). Needs root and `ip` (iproute2); a missing piece is an
/// ``EngineMissing`` error, so such tests fail rather than pass silently.
///
/// Delete it with ``delete()`` (deinit does too).
public final class NetworkNamespace: @unchecked Sendable {
    // Safety: `deleted` is touched only by the test that owns this value.

    /// The namespace's name (`/var/run/netns/NAME`).
    public let name: String
    private var deleted = false

    /// The `ip` binary, or a thrown error.
    public static func ipBinary() throws -> String {
        for c in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw EngineMissing(description: "ip (iproute2) not found (run ./scripts/test, which installs iproute2)")
    }

    /// Makes a namespace named `micro-<prefix>-<random>` with `lo` set up for multicast.
    public init(prefix: String = "mdns") throws {
        guard geteuid() == 0 else { throw EngineMissing(description: "network namespaces need root") }
        let ip = try Self.ipBinary()
        name = "micro-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try Self.run(ip, ["netns", "add", name])
        do {
            try Self.run(ip, ["-n", name, "link", "set", "lo", "up"])
            try Self.run(ip, ["-n", name, "link", "set", "lo", "multicast", "on"])
            try Self.run(ip, ["-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"])
        } catch {
            _ = try? Self.run(ip, ["netns", "del", name])
            deleted = true
            throw error
        }
    }

    /// Makes a namespace (see ``init(prefix:)``) and returns it.
    public static func create(prefix: String = "mdns") throws -> NetworkNamespace { try NetworkNamespace(prefix: prefix) }

    /// Deletes the namespace (idempotent).
    public func delete() {
        guard !deleted else { return }
        deleted = true
        if let ip = try? Self.ipBinary() { _ = try? Self.run(ip, ["netns", "del", name]) }
    }

    /// The arguments that run `command` inside the namespace (`ip netns exec NAME command...`).
    public func execArguments(_ command: [String]) throws -> (executable: String, arguments: [String]) {
        (try Self.ipBinary(), ["netns", "exec", name] + command)
    }

    /// Runs `command` inside the namespace and returns its standard output; throws when it fails or
    /// runs past `timeout` (then it is killed).
    @discardableResult
    public func run(_ command: [String], timeout: Duration = .seconds(20)) throws -> String {
        let (exe, args) = try execArguments(command)
        return try Self.run(exe, args, timeout: timeout)
    }

    /// Starts `command` inside the namespace in the background; the caller kills it by its pid.
    public func spawn(_ command: [String], environment: [String: String]? = nil, output: URL? = nil) throws -> Process {
        let (exe, args) = try execArguments(command)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let output {
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            p.standardOutput = handle
            p.standardError = handle
        } else {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs `executable` with `arguments`; returns standard output, throws on a non-zero exit or after `timeout`.
    ///
    /// Spawned with posix_spawn and reaped with waitpid here (not Foundation's Process), with a clean
    /// signal mask, so a short-lived child is always reaped and a timeout always ends it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Duration = .seconds(20)) throws -> String {
        let dir = FileManager.default.temporaryDirectory
        let outPath = dir.appendingPathComponent("netns-out-\(UUID().uuidString.prefix(8))").path
        let errPath = dir.appendingPathComponent("netns-err-\(UUID().uuidString.prefix(8))").path
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var env = ProcessInfo.processInfo.environment
        if let environment { env.merge(environment) { $1 } }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        guard rc == 0 else { throw EngineMissing(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        var status: CInt = 0
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno != EINTR) { break }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            usleep(10_000)
        }
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        let command = "\(executable) \(arguments.joined(separator: " "))"
        if timedOut { throw EngineMissing(description: "\(command) ran past \(timeout): \(stderr) \(stdout)") }
        // Exited normally with status 0: (status & 0x7f) == 0 and (status >> 8) & 0xff == 0.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw EngineMissing(description: "\(command) failed (status \(status)): \(stderr) \(stdout)")
        }
        return stdout
    }

    /// Ends process `pid` (a child of this process): `signal`, then SIGKILL after `grace`, reaping it
    /// with waitpid; every wait is bounded, and a child Foundation already reaped counts as ended.
    public static func terminate(pid: Int32, signal: Int32 = SIGTERM, grace: Duration = .seconds(3)) {
        func reaped() -> Bool {
            var status: CInt = 0
            let r = waitpid(pid, &status, WNOHANG)
            return r == pid || (r < 0 && errno == ECHILD) || (kill(pid, 0) != 0 && errno == ESRCH)
        }
        if reaped() { return }
        kill(pid, signal)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if reaped() { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        let last = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < last {
            if reaped() { return }
            usleep(10_000)
        }
    }

    deinit { delete() }
}
