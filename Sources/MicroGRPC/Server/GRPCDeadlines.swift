import NIOConcurrencyHelpers
import NIOCore

/// The deadlines of a server's calls, kept by one task (a child of the listener's `run`) instead of
/// a timer per call: registering and removing one is a lock and a heap insert, and most calls end
/// long before theirs. Deadlines fire within `granularity` of their time.
final class GRPCDeadlines: Sendable {
    private struct Entry {
        var at: UInt64
        var id: UInt64
    }

    private struct State {
        var heap: [Entry] = []
        var actions: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 0
        var idle: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())
    let granularity: Duration

    init(granularity: Duration = .milliseconds(5)) {
        self.granularity = granularity
    }

    /// Runs `action` (once) when `deadline` passes, unless the returned id is removed first.
    func add(_ deadline: NIODeadline, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, wake) = state.withLockedValue { s -> (UInt64, CheckedContinuation<Void, Never>?) in
            s.nextID += 1
            s.actions[s.nextID] = action
            s.heap.append(Entry(at: deadline.uptimeNanoseconds, id: s.nextID))
            Self.siftUp(&s.heap, s.heap.count - 1)
            let wake = s.idle
            s.idle = nil
            return (s.nextID, wake)
        }
        wake?.resume()
        return id
    }

    /// Forgets a deadline (its call ended first).
    func remove(_ id: UInt64) {
        _ = state.withLockedValue { $0.actions.removeValue(forKey: id) }
    }

    /// Fires deadlines as they pass, until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            let now = NIODeadline.now().uptimeNanoseconds
            var due: [@Sendable () -> Void] = []
            let next = state.withLockedValue { s -> UInt64? in
                while let top = s.heap.first, top.at <= now || s.actions[top.id] == nil {
                    Self.popTop(&s.heap)
                    if let action = s.actions.removeValue(forKey: top.id) { due.append(action) }
                }
                return s.heap.first?.at
            }
            for action in due { action() }
            if let next {
                let wait = min(Int64(next - min(next, now)), granularity.nanosecondsValue)
                try? await Task.sleep(nanoseconds: UInt64(max(wait, 100_000)))
            } else {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resume = state.withLockedValue { s -> Bool in
                            if s.stopped || !s.heap.isEmpty { return true }
                            s.idle = c
                            return false
                        }
                        if resume { c.resume() }
                    }
                } onCancel: {
                    let c = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
                        s.stopped = true
                        defer { s.idle = nil }
                        return s.idle
                    }
                    c?.resume()
                }
            }
        }
    }

    private static func siftUp(_ heap: inout [Entry], _ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private static func popTop(_ heap: inout [Entry]) {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, heap[l].at < heap[smallest].at { smallest = l }
            if r < heap.count, heap[r].at < heap[smallest].at { smallest = r }
            guard smallest != i else { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
