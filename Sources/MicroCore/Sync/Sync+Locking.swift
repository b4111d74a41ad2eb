import Foundation

extension Sync {
    /// Acquires the lock `name` for `ttl`, waiting up to `wait` for it to be free (nil: until the task is
    /// cancelled; zero: one attempt). The lease renews itself until released or lost.
    ///
    /// Throws ``SyncError`` `invalidName`, `invalidTTL`, `invalidArgument` (a negative wait, a bad
    /// holder), `timeout` when the wait passes, `unavailable` when the engine cannot be reached, and
    /// `CancellationError` when the task is cancelled while waiting.
    public func lock(_ name: String, ttl: Duration, wait: Duration? = nil, holder: String? = nil) async throws -> LockLease {
        try SyncName.validate(name)
        return try await acquireLease(name: name, key: "lock/" + name, ttl: ttl, wait: wait, holder: holder)
    }

    /// Runs `body` holding the lock `name` (acquired as ``lock(_:ttl:wait:holder:)`` does) and releases
    /// it after. When the lease is lost, `body` is cancelled and this throws ``SyncError/Code/lost``.
    /// A failure to release is not thrown: the lock then expires after its TTL.
    public func withLock<T: Sendable>(_ name: String, ttl: Duration, wait: Duration? = nil, holder: String? = nil,
                                      _ body: @escaping @Sendable (LockLease) async throws -> T) async throws -> T {
        let lease = try await lock(name, ttl: ttl, wait: wait, holder: holder)
        return try await Self.holding(lease, body)
    }

    /// The leader election `name`: campaign, resign, observe.
    public func leader(_ name: String) throws -> Leader {
        try SyncName.validate(name)
        return Leader(name: name, sync: self)
    }

    /// Runs `body` while `lease` is held, cancelling it when the lease is lost; releases the lease after.
    package static func holding<T: Sendable>(_ lease: LockLease, _ body: @escaping @Sendable (LockLease) async throws -> T) async throws -> T {
        do {
            let result = try await withThrowingTaskGroup(of: HoldingOutcome<T>.self) { group in
                group.addTask { .done(try await body(lease)) }
                group.addTask {
                    if let loss = await lease.lost() { throw loss }
                    return .watcherEnded
                }
                defer { group.cancelAll() }
                while let outcome = try await group.next() {
                    if case .done(let value) = outcome { return value }
                }
                throw CancellationError()
            }
            try? await lease.release()
            return result
        } catch {
            try? await lease.release()
            throw error
        }
    }

    /// Acquires `key` as a lease named `name`: attempts until the wait passes, backing off between them.
    package func acquireLease(name: String, key: String, ttl: Duration, wait: Duration?, holder: String?) async throws -> LockLease {
        try SyncName.validate(ttl: ttl)
        if let wait, wait < .zero { throw SyncError(.invalidArgument, "a wait may not be negative, got \(wait)") }
        let holder = holder ?? SyncIdentity.holder()
        try SyncName.validate(holder: holder)
        let deadline = wait.map { ContinuousClock.now + $0 }
        var pause = Duration.milliseconds(5)
        let longest = min(Duration.milliseconds(250), ttl / 4)
        while true {
            try Task.checkCancellation()
            let start = ContinuousClock.now
            if let grant = try await acquire(key, holder: holder, ttl: ttl) {
                return LockLease(name: name, grant: grant, sync: self, start: start)
            }
            let now = ContinuousClock.now
            if let deadline, now >= deadline {
                throw SyncError(.timeout, "\(key) was not free within \(wait!)")
            }
            // Jittered so contenders do not retry in step.
            let jittered = pause * Double.random(in: 0.5...1.0)
            try await Task.sleep(until: deadline.map { min($0, now + jittered) } ?? now + jittered, clock: .continuous)
            pause = min(pause * 2, longest)
        }
    }
}

/// What a child of ``Sync/holding(_:_:)`` ends with: the body's result, or the loss watcher's end.
private enum HoldingOutcome<T: Sendable>: Sendable {
    case done(T)
    case watcherEnded
}
