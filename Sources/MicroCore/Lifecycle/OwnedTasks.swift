import NIOConcurrencyHelpers

/// The background tasks one engine starts on demand (a watch feeder, a stream pump, a keep-alive):
/// none starts once the owner closed, each can be cancelled alone, and ``close()`` cancels every
/// one and waits for it, so no task outlives its owner. Each is counted in ``TaskCensus``.
package final class OwnedTasks: Sendable {
    /// Identifies one task for ``cancel(_:)``.
    package struct ID: Hashable, Sendable {
        let value: Int
    }

    private struct State {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
        /// Started but not yet stored in `tasks`.
        var spawning: Set<Int> = []
        /// Of those, the ones already cancelled or already finished.
        var cancelledEarly: Set<Int> = []
        var finishedEarly: Set<Int> = []
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    /// No tasks yet.
    package init() {}

    /// Starts `body` as a task of this owner; nil (and `body` never runs) once the owner is closed.
    @discardableResult
    package func spawn(_ body: @escaping @Sendable () async -> Void) -> ID? {
        let id = state.withLockedValue { s -> Int? in
            guard !s.closed else { return nil }
            s.next += 1
            s.spawning.insert(s.next)
            return s.next
        }
        guard let id else { return nil }
        TaskCensus.started()
        let task = Task {
            await body()
            self.finished(id)
            TaskCensus.ended()
        }
        let cancel = state.withLockedValue { s -> Bool in
            s.spawning.remove(id)
            let cancelled = s.cancelledEarly.remove(id) != nil
            if s.finishedEarly.remove(id) != nil { return false }
            s.tasks[id] = task
            return cancelled
        }
        if cancel { task.cancel() }
        return ID(value: id)
    }

    /// Cancels one task (without waiting for it; ``close()`` still waits for it if it runs on).
    package func cancel(_ id: ID) {
        let task = state.withLockedValue { s -> Task<Void, Never>? in
            if let task = s.tasks[id.value] { return task }
            if s.spawning.contains(id.value) { s.cancelledEarly.insert(id.value) }
            return nil
        }
        task?.cancel()
    }

    private func finished(_ id: Int) {
        state.withLockedValue { s in
            if s.tasks.removeValue(forKey: id) == nil, s.spawning.contains(id) { s.finishedEarly.insert(id) }
        }
    }

    /// How many tasks run.
    package var count: Int { state.withLockedValue { $0.tasks.count + $0.spawning.count } }

    /// Whether ``close()`` has begun.
    package var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Refuses new tasks, cancels the running ones (unless `cancelling` is false: then they are left
    /// to end on their own, say after their connection closed) and waits until every one has ended.
    package func close(cancelling: Bool = true) async {
        state.withLockedValue { $0.closed = true }
        while true {
            let tasks = state.withLockedValue { Array($0.tasks.values) }
            if tasks.isEmpty {
                // A task being stored right now is picked up once it is stored; wait for that moment.
                guard state.withLockedValue({ !$0.spawning.isEmpty }) else { return }
                await Task.yield()
                continue
            }
            if cancelling { for task in tasks { task.cancel() } }
            for task in tasks { await task.value }
        }
    }
}
