import Foundation
import Glibc

/// Running child processes from tests, every wait bounded: a command to its end (output collected in
/// files, so no pipe can fill and stall it), and ending a background child by its pid.
public enum ChildProcess {
    /// Runs `executable` with `arguments` (in `directory`, if given); returns standard output, throws on a
    /// non-zero exit or after `timeout`.
    ///
    /// Spawned with posix_spawn and reaped with waitpid here (not Foundation's Process), with a clean
    /// signal mask, so a short-lived child is always reaped and a timeout always ends it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: URL? = nil, timeout: Duration = .seconds(20)) throws -> String {
        if let directory {   // through coreutils' `env --chdir`: posix_spawn's chdir action is not in Glibc's module
            return try run("/usr/bin/env", ["--chdir=\(directory.path)", executable] + arguments, environment: environment, timeout: timeout)
        }
        let dir = FileManager.default.temporaryDirectory
        let outPath = dir.appendingPathComponent("child-out-\(UUID().uuidString.prefix(8))").path
        let errPath = dir.appendingPathComponent("child-err-\(UUID().uuidString.prefix(8))").path
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
}
