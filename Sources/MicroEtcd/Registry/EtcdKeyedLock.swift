import Synchronization

/// Serialises async work per key: registering and deregistering one node run one at a time, so two
/// concurrent registrations of a node cannot leave it on a lease nobody keeps. Different keys run
/// concurrently. Waiters are served in arrival order.
final class EtcdKeyedLock: Sendable {
    private let waiting = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    func withLock<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let owned = waiting.withLock { w -> Bool in
                if var queue = w[key] {
                    queue.append(c)
                    w[key] = queue
                    return false
                }
                w[key] = []
                return true
            }
            if owned { c.resume() }
        }
    }

    private func release(_ key: String) {
        let next = waiting.withLock { w -> CheckedContinuation<Void, Never>? in
            guard var queue = w[key], !queue.isEmpty else {
                w[key] = nil
                return nil
            }
            let next = queue.removeFirst()
            w[key] = queue
            return next
        }
        next?.resume()
    }
}
