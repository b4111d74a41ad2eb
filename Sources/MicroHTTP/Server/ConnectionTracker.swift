import NIOConcurrencyHelpers
import NIOCore

/// The server's open connections and how many requests each is answering, so a graceful shutdown
/// closes idle connections at once and lets busy ones finish (an HTTP/2 connection is busy while
/// any of its streams is).
final class ConnectionTracker: Sendable {
    private struct Entry { let channel: any Channel; var busy: Int }
    private struct State { var next = 0; var entries: [Int: Entry] = [:]; var draining = false }
    private let state = NIOLockedValueBox(State())

    /// Adds an accepted connection; nil when over `limit` or draining (the caller closes it).
    func add(_ channel: any Channel, limit: Int) -> Int? {
        state.withLockedValue { s in
            guard !s.draining, s.entries.count < limit else { return nil }
            s.next += 1
            s.entries[s.next] = Entry(channel: channel, busy: 0)
            return s.next
        }
    }

    func remove(_ id: Int) { state.withLockedValue { _ = $0.entries.removeValue(forKey: id) } }

    /// A request started (`true`) or finished (`false`) on the connection.
    func setBusy(_ id: Int, _ busy: Bool) {
        state.withLockedValue { s in
            guard var e = s.entries[id] else { return }
            e.busy = max(0, e.busy + (busy ? 1 : -1))
            s.entries[id] = e
        }
    }

    var isDraining: Bool { state.withLockedValue { $0.draining } }
    var count: Int { state.withLockedValue { $0.entries.count } }
    /// True while some connection is in the middle of a request.
    var hasBusy: Bool { state.withLockedValue { $0.entries.values.contains { $0.busy > 0 } } }
    /// How many connections were ever accepted (for tests and metrics).
    var accepted: Int { state.withLockedValue { $0.next } }

    /// Starts draining: idle connections are closed now, busy ones after their current request.
    func drain() {
        let idle = state.withLockedValue { s -> [any Channel] in
            s.draining = true
            return s.entries.values.filter { $0.busy == 0 }.map(\.channel)
        }
        for c in idle { c.close(promise: nil) }
    }

    /// Closes every connection now.
    func closeAll() {
        let all = state.withLockedValue { $0.entries.values.map(\.channel) }
        for c in all { c.close(promise: nil) }
    }
}
