import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Remembers nodes that failed recently so the selector avoids them for a while.
public final class FailureTracker: Sendable {
    private let penalty: TimeAmount
    private let failed = NIOLockedValueBox([String: NIODeadline]())
    /// How many nodes `failed` holds, readable without the lock (the usual answer: none).
    private let count = Atomic<Int>(0)
    /// The latest instant (uptime nanoseconds) until which any node is avoided.
    private let latest = Atomic<UInt64>(0)

    /// A tracker that avoids a failed node for `penalty`.
    public init(penalty: Duration = .seconds(5)) {
        self.penalty = .nanoseconds(Int64(penalty.components.seconds) * 1_000_000_000 + penalty.components.attoseconds / 1_000_000_000)
    }

    /// Records that a call to the node failed.
    public func markFailed(_ nodeID: String) {
        let until = NIODeadline.now() + penalty
        failed.withLockedValue { f in
            f[nodeID] = until
            count.store(f.count, ordering: .relaxed)
            latest.store(max(latest.load(ordering: .relaxed), until.uptimeNanoseconds), ordering: .relaxed)
        }
    }

    /// Records that a call to the node succeeded.
    public func markSucceeded(_ nodeID: String) {
        guard !isEmpty else { return }
        failed.withLockedValue { f in
            if f[nodeID] != nil {
                f[nodeID] = nil
                count.store(f.count, ordering: .relaxed)
            }
        }
    }

    /// True when no node is being avoided (checked without taking the lock; a node's failure
    /// counts until its penalty ends, or until a call to it succeeds).
    public var isEmpty: Bool {
        count.load(ordering: .relaxed) == 0 || latest.load(ordering: .relaxed) <= NIODeadline.now().uptimeNanoseconds
    }

    /// True while the node is being avoided.
    public func isAvoided(_ nodeID: String) -> Bool {
        guard !isEmpty else { return false }
        let now = NIODeadline.now()
        return failed.withLockedValue { f in
            guard let until = f[nodeID] else { return false }
            if until <= now {
                f[nodeID] = nil
                count.store(f.count, ordering: .relaxed)
                return false
            }
            return true
        }
    }
}
