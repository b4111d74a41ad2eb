import NIOConcurrencyHelpers

/// A one-shot signal many tasks can wait for: fired once with a value, after which every waiter (and
/// every later one) gets that value at once. Waiting is cancellable (a cancelled waiter gets nil).
package final class SyncSignal<Value: Sendable>: Sendable {
    private struct State {
        var fired: Value??
        var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
        var next = 0
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// The value fired, nil while it has not been.
    package var value: Value?? { state.withLockedValue { $0.fired } }

    /// Fires with `value` unless already fired; true when this call fired it.
    @discardableResult
    package func fire(_ value: Value?) -> Bool {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Value?, Never>]? in
            guard s.fired == nil else { return nil }
            s.fired = .some(value)
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// Waits for the signal; nil when it fired with nil or the waiting task was cancelled.
    package func wait() async -> Value? {
        let id = state.withLockedValue { s -> Int in
            s.next += 1
            return s.next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Value?, Never>) in
                let now = state.withLockedValue { s -> Value?? in
                    if let fired = s.fired { return .some(fired) }
                    if Task.isCancelled { return .some(nil) }
                    s.waiters[id] = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            let c = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            c?.resume(returning: nil)
        }
    }
}
