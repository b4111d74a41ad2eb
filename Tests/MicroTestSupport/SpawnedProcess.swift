import Foundation
import Glibc
import Synchronization

/// A child process started by a test and ended by it: spawned with posix_spawn and reaped by its own
/// pid with waitpid here, never through Foundation's `Process`, so every wait is bounded and a child
/// is reaped exactly once (its pid is never signalled after that).
///
/// Standard input is /dev/null, a file, or a pipe this value holds open (closing it is the child's EOF);
/// standard output and error go to files (or /dev/null), so no pipe can fill and stall the child — or
/// standard output is a pipe whose reader is already gone, so every write to it fails with EPIPE.
/// Signals the test runner blocks are unblocked for the child, and SIGINT/SIGTERM/SIGPIPE/SIGCHLD
/// are back to their defaults.
public final class SpawnedProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The command line, for messages.
    public let command: String
    /// The raw wait status once the child was reaped.
    private let status = Mutex<CInt?>(nil)
    /// The write end of the child's stdin pipe, while held.
    private let input = Mutex<CInt?>(nil)

    /// Starts `executable` with `arguments`. The environment is this process's with `environment`
    /// added, or exactly `replacingEnvironment`; `directory` is the working directory. Output goes to
    /// `output` (created or truncated; nil: /dev/null) and errors to `errors` (nil: the same as output).
    /// With `holdingStdin` the child reads a pipe that stays open until ``closeInput()`` or its end;
    /// with `inputFile` it reads that file. With `outputReaderGone` its stdout is a pipe whose reading end
    /// is closed once it started (`output` then only takes what `errors` would have shared with it).
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                replacingEnvironment: [String: String]? = nil, directory: URL? = nil,
                output: URL? = nil, errors: URL? = nil, holdingStdin: Bool = false,
                inputFile: URL? = nil, outputReaderGone: Bool = false) throws {
        // A working directory through coreutils' `env --chdir`, which execs in place (same pid):
        // posix_spawn's chdir action is not in Glibc's module.
        let (executable, arguments) = directory.map { ("/usr/bin/env", ["--chdir=\($0.path)", executable] + arguments) } ?? (executable, arguments)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [CInt] = [-1, -1]
        if holdingStdin {
            guard pipe(&pipeEnds) == 0 else { throw EngineMissing(description: "pipe: \(String(cString: strerror(errno)))") }
            for fd in pipeEnds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }   // not inherited by the child except as its stdin
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)   // dup2 clears close-on-exec on the copy
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, inputFile?.path ?? "/dev/null", O_RDONLY, 0)
        }
        var outputEnds: [CInt] = [-1, -1]
        if outputReaderGone {
            guard pipe(&outputEnds) == 0 else { throw EngineMissing(description: "pipe: \(String(cString: strerror(errno)))") }
            for fd in outputEnds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, outputEnds[1], 1)
            if errors == nil { posix_spawn_file_actions_addopen(&actions, 2, output?.path ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, output?.path ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        if let errors {
            posix_spawn_file_actions_addopen(&actions, 2, errors.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } else if !outputReaderGone {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
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
        var env = replacingEnvironment ?? ProcessInfo.processInfo.environment
        if let environment { env.merge(environment) { $1 } }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        command = ([executable] + arguments).joined(separator: " ")
        if holdingStdin { close(pipeEnds[0]) }
        for fd in outputEnds where fd >= 0 { close(fd) }   // the reader goes away: the child's writes fail with EPIPE
        guard rc == 0 else {
            if holdingStdin { close(pipeEnds[1]) }
            throw EngineMissing(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        if holdingStdin { input.withLock { $0 = pipeEnds[1] } }
    }

    deinit { closeInput() }

    /// Closes the child's stdin pipe (it reads EOF); nothing when there is none.
    public func closeInput() {
        input.withLock { fd in
            if let f = fd { close(f) }
            fd = nil
        }
    }

    /// Reaps the child if it has ended (never blocks); its wait status, nil while it runs.
    private func poll() -> CInt? {
        status.withLock { status in
            if let status { return status }
            var s: CInt = 0
            let r = waitpid(pid, &s, WNOHANG)
            if r == pid {
                status = s
            } else if r < 0 && errno == ECHILD {
                status = -1   // reaped elsewhere: it has ended all the same
            }
            return status
        }
    }

    /// Whether the child still runs (reaps it once it has ended).
    public var isRunning: Bool { poll() == nil }

    /// The exit code once the child has ended normally; nil while it runs or when a signal ended it.
    public var exitCode: CInt? {
        guard let s = poll(), s >= 0, s & 0x7F == 0 else { return nil }
        return (s >> 8) & 0xFF
    }

    /// The signal that ended the child; nil while it runs or when it exited.
    public var terminationSignal: CInt? {
        guard let s = poll(), s >= 0, s & 0x7F != 0 else { return nil }
        return s & 0x7F
    }

    /// Sends `signal` while the child runs (a reaped pid is never signalled: it may belong to another process by now).
    public func signal(_ signal: CInt) {
        status.withLock { status in
            if status == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Waits up to `timeout` for the child to end; true when it has.
    @discardableResult
    public func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while poll() == nil {
            if ContinuousClock.now >= deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// Ends the child: `signal`, then SIGKILL if it is still running after `grace`; reaps it.
    public func terminate(signal: CInt = SIGTERM, grace: Duration = .seconds(3)) {
        closeInput()
        guard isRunning else { return }
        self.signal(signal)
        if signal != SIGKILL, wait(timeout: grace) { return }
        self.signal(SIGKILL)
        wait(timeout: .seconds(5))
    }

    /// Kills the child with SIGKILL (a crash, not a shutdown) and reaps it.
    public func kill() { terminate(signal: SIGKILL) }
}
