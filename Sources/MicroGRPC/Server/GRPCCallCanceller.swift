import NIOConcurrencyHelpers

/// Cancels the task serving one call from outside it (its deadline, the caller's reset) without a
/// task of its own per call: the call runs inline and its task can be cancelled only while the call
/// is open, a window `end()` closes under the same lock.
final class GRPCCallCanceller: @unchecked Sendable {
    // Safety: `task` is read and written only under `lock`, and only between `init` (made inside the
    // serving task) and `end()` (called by that task before it goes on), so it never outlives the task.
    enum Reason: Sendable {
        case deadline
        case cancelled
    }

    private let lock = NIOLock()
    private var task: UnsafeCurrentTask?
    private var reason: Reason?

    /// A canceller for the task running this initializer.
    init() {
        task = withUnsafeCurrentTask { $0 }
    }

    /// Cancels the call's task for `reason`; false when the call already ended or was cancelled.
    @discardableResult
    func cancel(_ reason: Reason) -> Bool {
        lock.withLock {
            guard let task, self.reason == nil else { return false }
            self.reason = reason
            task.cancel()
            return true
        }
    }

    /// Closes the window; returns why the call was cancelled, if it was.
    func end() -> Reason? {
        lock.withLock {
            task = nil
            return reason
        }
    }
}
