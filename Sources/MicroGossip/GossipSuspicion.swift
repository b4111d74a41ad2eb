import NIOCore

/// Lifeguard's suspicion timer: starts at `max` and shrinks toward `min` as independent members
/// confirm the suspicion (`max - (max - min) * log(c + 1) / log(k + 1)`).
struct GossipSuspicion: Sendable {
    var start: NIODeadline
    var min: TimeAmount
    var max: TimeAmount
    /// Confirmations that bring the timeout down to `min`.
    var k: Int
    /// Who accused or confirmed (the first accuser does not count as a confirmation).
    var accusers: Set<String>
    var confirmations = 0

    init(from: String, k: Int, min: TimeAmount, max: TimeAmount, now: NIODeadline) {
        self.start = now
        self.min = min
        self.max = max
        self.k = k
        self.accusers = [from]
    }

    /// When the suspect is declared dead.
    var deadline: NIODeadline {
        guard k >= 1 else { return start + min }
        let fraction = Foundation.log(Double(confirmations) + 1) / Foundation.log(Double(k) + 1)
        let span = Double((max - min).nanoseconds)
        var timeout = max - .nanoseconds(Int64(span * fraction))
        if timeout < min { timeout = min }
        return start + timeout
    }

    /// Counts a new independent confirmation; false when `from` already accused or enough came.
    mutating func confirm(from: String) -> Bool {
        guard confirmations < k, !accusers.contains(from) else { return false }
        accusers.insert(from)
        confirmations += 1
        return true
    }
}

import Foundation
