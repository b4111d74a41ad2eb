import NIOConcurrencyHelpers
import NIOCore

/// Remembers nodes that failed recently so the selector avoids them for a while.
public final class FailureTracker: Sendable {
    private let penalty: TimeAmount
    private let failed = NIOLockedValueBox([String: NIODeadline]())

    /// A tracker that avoids a failed node for `penalty`.
    public init(penalty: Duration = .seconds(5)) {
        self.penalty = .nanoseconds(Int64(penalty.components.seconds) * 1_000_000_000 + penalty.components.attoseconds / 1_000_000_000)
    }

    /// Records that a call to the node failed.
    public func markFailed(_ nodeID: String) {
        let until = NIODeadline.now() + penalty
        failed.withLockedValue { $0[nodeID] = until }
    }

    /// Records that a call to the node succeeded.
    public func markSucceeded(_ nodeID: String) {
        failed.withLockedValue { f in if f[nodeID] != nil { f[nodeID] = nil } }
    }

    /// True while the node is being avoided.
    public func isAvoided(_ nodeID: String) -> Bool {
        let now = NIODeadline.now()
        return failed.withLockedValue { f in
            guard let until = f[nodeID] else { return false }
            if until <= now { f[nodeID] = nil; return false }
            return true
        }
    }
}
