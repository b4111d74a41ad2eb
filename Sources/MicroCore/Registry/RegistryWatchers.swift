import NIOConcurrencyHelpers

/// The set of open watches of a registry, each fed the events that concern it.
package final class RegistryWatchers: Sendable {
    private struct Watcher { let service: String?; let continuation: RegistryWatch.Continuation }
    private let state = NIOLockedValueBox<(next: Int, watchers: [Int: Watcher])>((0, [:]))

    /// No watches yet.
    package init() {}

    /// Opens a watch for one service or all; it ends when its consumer stops iterating.
    package func open(service: String?, bufferLimit: Int = 1024) -> RegistryWatch {
        let (stream, continuation) = RegistryWatch.makeStream(bufferingPolicy: .bufferingNewest(bufferLimit))
        let id = state.withLockedValue { s -> Int in
            s.next += 1
            s.watchers[s.next] = Watcher(service: service, continuation: continuation)
            return s.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Sends events to every watch they concern.
    package func emit(_ events: [RegistryEvent]) {
        guard !events.isEmpty else { return }
        let watchers = state.withLockedValue { Array($0.watchers.values) }
        for w in watchers {
            for e in events where w.service == nil || w.service == e.service.name {
                w.continuation.yield(e)
            }
        }
    }

    /// Ends every watch (the registry is closing).
    package func finishAll() {
        let watchers = state.withLockedValue { s -> [Watcher] in
            let w = Array(s.watchers.values); s.watchers.removeAll(); return w
        }
        for w in watchers { w.continuation.finish() }
    }
}
