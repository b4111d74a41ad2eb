import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Wakes a local-registry watch as soon as a node file changes (inotify, Linux), so a registration
/// shows in milliseconds rather than at the next poll; the poll stays as the fallback.
///
/// One short-lived thread per watch blocks in `poll(2)` on the inotify descriptor (never a Swift
/// concurrency thread) and ends within 200 ms of ``stop()``.
final class DirectoryChangeMonitor: @unchecked Sendable {
    // Safety: every mutable field is guarded by `lock`; `descriptor` is owned by the thread.
    private let lock = NIOLock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var stopped = false

    #if canImport(Glibc)
    private let descriptor: CInt
    private let root: String
    /// The service subdirectory to follow (escaped name), or nil for all of them.
    private let only: String?
    private var watches: [CInt: String] = [:]

    /// Starts monitoring `directory` (created if missing) and its service subdirectories (only
    /// `service`'s when given); nil when inotify is unavailable.
    static func start(directory: String, service: String?) -> DirectoryChangeMonitor? {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let monitor = DirectoryChangeMonitor(descriptor: fd, root: directory, only: service)
        guard monitor.add(directory) else {
            close(fd)
            return nil
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where service == nil || name == service {
            _ = monitor.add(directory + "/" + name)
        }
        let thread = Thread { monitor.run() }
        thread.start()
        return monitor
    }

    private init(descriptor: CInt, root: String, only: String?) {
        self.descriptor = descriptor
        self.root = root
        self.only = only
    }

    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF)

    @discardableResult
    private func add(_ path: String) -> Bool {
        let wd = inotify_add_watch(descriptor, path, Self.mask)
        guard wd >= 0 else { return false }
        lock.withLock { watches[wd] = path }
        return true
    }

    private func run() {
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        while !lock.withLock({ stopped }) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 200)
            if ready < 0 && errno != EINTR { return }
            guard ready > 0 else { continue }
            var changed = false
            while true {
                let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard n > 0 else { break }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (CInt, UInt32, Int) in
                        let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        return (event.wd, event.mask, Int(event.len))
                    }
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    let nameEnd = min(n, nameStart + length)
                    let name = String(decoding: buffer[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
                    offset = nameEnd
                    changed = true
                    // A new service directory under the root: follow it too.
                    let parent = lock.withLock { watches[wd] }
                    if parent == root, mask & UInt32(IN_ISDIR) != 0, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0,
                       !name.isEmpty, only == nil || name == only {
                        add(root + "/" + name)
                    }
                }
            }
            if changed { signal() }
        }
    }
    #else
    static func start(directory: String, service: String?) -> DirectoryChangeMonitor? { nil }
    #endif

    /// Stops the monitoring thread (it ends within 200 ms) and releases a pending wait.
    func stop() {
        lock.withLock { stopped = true }
        signal()
    }

    /// Returns when something changed since the last return, or after `timeout`, or on cancellation.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.signal()
            }
            group.addTask { await self.nextChange() }
            await group.next()
            group.cancelAll()
        }
    }

    private func signal() {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if let w = waiter {
                waiter = nil
                return w
            }
            pending = true
            return nil
        }
        waiting?.resume()
    }

    private func nextChange() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = lock.withLock { () -> Bool in
                if pending || stopped {
                    pending = false
                    return true
                }
                waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
