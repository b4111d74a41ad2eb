import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a lock file, held while a closure runs: it keeps two runtimes (or two
/// tasks of one: each takes its own descriptor) from using one cache clone at once. Waiting polls
/// (never blocks a thread) and ends when the task is cancelled.
enum FileLock {
    /// Runs `body` holding the lock on `path` (created, mode 0600, when missing).
    static func withLock<T>(_ path: String, _ body: () async throws -> T) async throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError(.unavailable, "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }   // closing the descriptor releases the lock
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw RuntimeError(.unavailable, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await body()
    }
}
