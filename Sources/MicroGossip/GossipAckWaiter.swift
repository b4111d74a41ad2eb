import NIOConcurrencyHelpers
import NIOCore

/// Wakes a running probe when its ack comes (direct, relayed or over TCP), or at its timeout.
final class GossipAckWaiter: Sendable {
    private struct State {
        var acked = false
        var waiting: CheckedContinuation<Bool, Never>?
        var generation = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Records an ack and wakes the waiting probe.
    func ack() {
        let c = state.withLockedValue { s -> CheckedContinuation<Bool, Never>? in
            s.acked = true
            defer { s.waiting = nil }
            return s.waiting
        }
        c?.resume(returning: true)
    }

    /// Waits until an ack came (true) or `timeout` passed (false).
    func wait(timeout: TimeAmount, on loop: any EventLoop) async -> Bool {
        if state.withLockedValue({ $0.acked }) { return true }
        guard timeout > .zero else { return false }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let generation = state.withLockedValue { s -> Int? in
                if s.acked { return nil }
                s.waiting = c
                s.generation += 1
                return s.generation
            }
            guard let generation else { c.resume(returning: true); return }
            loop.scheduleTask(in: timeout) { [self] in
                let pending = state.withLockedValue { s -> CheckedContinuation<Bool, Never>? in
                    guard s.generation == generation else { return nil }
                    defer { s.waiting = nil }
                    return s.waiting
                }
                pending?.resume(returning: false)
            }
        }
    }
}
