import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// The server's open connections and how many requests each is answering, so a graceful shutdown
/// closes idle connections at once and lets busy ones finish (an HTTP/2 connection is busy while
/// any of its streams is).
///
/// The lock is taken on accept and close only; requests touch their connection's atomic counter.
final class ConnectionTracker: Sendable {
    private struct State { var next = 0; var entries: [Int: TrackedConnection] = [:] }
    private let state = NIOLockedValueBox(State())
    private let draining = Atomic<Bool>(false)

    /// Adds an accepted connection; nil when over `limit` or draining (the caller closes it).
    func add(_ channel: any Channel, limit: Int) -> TrackedConnection? {
        state.withLockedValue { s in
            guard !draining.load(ordering: .acquiring), s.entries.count < limit else { return nil }
            s.next += 1
            let c = TrackedConnection(id: s.next, channel: channel, tracker: self)
            s.entries[s.next] = c
            return c
        }
    }

    func remove(_ id: Int) { state.withLockedValue { _ = $0.entries.removeValue(forKey: id) } }

    /// True once ``drain()`` was called: answers close their connection.
    var isDraining: Bool { draining.load(ordering: .acquiring) }
    var count: Int { state.withLockedValue { $0.entries.count } }
    /// True while some connection is in the middle of a request.
    var hasBusy: Bool { state.withLockedValue { $0.entries.values.contains { $0.isBusy } } }
    /// How many connections were ever accepted (for tests and metrics).
    var accepted: Int { state.withLockedValue { $0.next } }

    /// Starts draining: idle connections are closed now, busy ones after their current request.
    func drain() {
        let idle = state.withLockedValue { s -> [any Channel] in
            draining.store(true, ordering: .releasing)
            return s.entries.values.filter { !$0.isBusy }.map(\.channel)
        }
        for c in idle { c.close(promise: nil) }
    }

    /// Closes every connection now.
    func closeAll() {
        let all = state.withLockedValue { $0.entries.values.map(\.channel) }
        for c in all { c.close(promise: nil) }
    }
}

/// One accepted connection as the tracker sees it: its channel and how many requests it is answering.
final class TrackedConnection: Sendable {
    let id: Int
    let channel: any Channel
    let tracker: ConnectionTracker
    private let busy = Atomic<Int>(0)

    init(id: Int, channel: any Channel, tracker: ConnectionTracker) {
        self.id = id
        self.channel = channel
        self.tracker = tracker
    }

    /// A request on this connection started (`true`) or finished (`false`).
    func setBusy(_ value: Bool) {
        if value {
            busy.add(1, ordering: .relaxed)
        } else {
            busy.subtract(1, ordering: .relaxed)
        }
    }

    var isBusy: Bool { busy.load(ordering: .relaxed) > 0 }
}
