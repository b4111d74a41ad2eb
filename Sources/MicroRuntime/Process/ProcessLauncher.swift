import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts processes with posix_spawn, never Foundation's `Process` or swift-subprocess: a service must
/// outlive the runtime that started it (so a restarted runtime adopts it), so its output goes straight
/// to a file it appends to (no pipe the runtime must keep reading) and it runs in a session of its own
/// (a Ctrl-C to the runtime's terminal does not reach it). Each child is reaped by its own pid.
enum ProcessLauncher {
    /// glibc's `POSIX_SPAWN_SETSID` (not imported into Swift's Glibc module).
    private static let setSessionFlag: Int32 = 0x80

    /// Starts `executable` with exactly `environment`, in `directory`, stdin from /dev/null and stdout
    /// and stderr appended to `output`; in a new session when `newSession`. Returns the child's pid.
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], directory: String?,
                      output: String, newSession: Bool) throws -> pid_t {
        // A working directory through coreutils' `env --chdir`, which execs in place (the same pid):
        // posix_spawn's chdir action is not in Swift's Glibc module.
        let (path, argv0) = directory.map { ("/usr/bin/env", ["/usr/bin/env", "--chdir=\($0)", executable] + arguments) }
            ?? (executable, [executable] + arguments)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= setSessionFlag }
        posix_spawnattr_setflags(&attr, Int16(flags))
        let argv = argv0.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else {
            throw RuntimeError(.startFailed, "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Reaps the child `pid` if it has ended (never blocks): how it ended, nil while it runs.
    static func reap(_ pid: pid_t) -> ProcessExit? {
        var status: CInt = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return ProcessExit(waitStatus: status) }
        if r < 0 && errno == ECHILD { return .unknown }   // not (or no longer) our child
        return nil
    }

    /// Sends `signal` to `pid` only while it is still the process that started at `startTime` (a pid
    /// that ended may belong to another process by now). True when sent.
    @discardableResult
    static func signal(_ pid: pid_t, _ signal: CInt, startTime: UInt64?) -> Bool {
        guard pid > 0, let current = ProcessIdentity.startTime(of: pid), startTime == nil || current == startTime else { return false }
        return kill(pid, signal) == 0
    }
}
