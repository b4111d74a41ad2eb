import Foundation
import Micro
import Synchronization

/// A value behind a mutex, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    @discardableResult
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}

/// A bounded wait ran out.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "timed out after \(limit): \(what)" }
}

/// Runs `operation` but returns (throwing ``TimedOut``) after `limit` even if the operation ignores
/// cancellation; the operation is cancelled then.
func bounded<T: Sendable>(_ what: String, within limit: Duration,
                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let pending = Locked<CheckedContinuation<T, any Error>?>(nil)
    let timer = Locked<Task<Void, Never>?>(nil)
    defer { timer.value?.cancel() }
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        pending.withLock { $0 = continuation }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            pending.withLock { c in let taken = c; c = nil; return taken }?.resume(with: result)
        }
        timer.withLock {
            $0 = Task {
                do { try await Task.sleep(for: limit) } catch { return }
                if let c = pending.withLock({ c in let taken = c; c = nil; return taken }) {
                    work.cancel()
                    c.resume(throwing: TimedOut(what: what, limit: limit))
                }
            }
        }
    }
}

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
func poll(timeout: Duration, interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// The live nodes of `service` in the local registry at `directory`, read by a fresh
/// ``LocalRegistry`` (as another process would).
func registeredNodes(_ service: String, in directory: String) async throws -> [Node] {
    try await LocalRegistry(directory: directory).getService(service).flatMap(\.nodes)
}

/// Waits until `service` has at least `count` live nodes in the registry at `directory`.
@discardableResult
func waitForNodes(_ service: String, count: Int = 1, in directory: String, timeout: Duration = .seconds(10)) async throws -> [Node] {
    var nodes: [Node] = []
    let ok = try await poll(timeout: timeout) {
        nodes = try await registeredNodes(service, in: directory)
        return nodes.count >= count
    }
    guard ok else {
        throw TimedOut(what: "waiting for \(count) node(s) of \(service) in \(directory) (have \(nodes.count))", limit: timeout)
    }
    return nodes
}

/// `Greeter.Hello`'s messages, as the greeter example defines them.
struct HelloRequest: Codable, Sendable { var name: String }
struct HelloReply: Codable, Sendable { var message: String }
