import NIOConcurrencyHelpers

/// The tasks that feed a registry's watches (one per watch, following its engine): a task is
/// cancelled when its watch's consumer stops listening, none starts once the registry closed, and
/// closing cancels the running ones and waits for them.
package final class RegistryWatchTasks: Sendable {
    private let tasks = OwnedTasks()

    /// No watches yet.
    package init() {}

    /// Runs `body` to feed the watch behind `continuation` (and `onEnd` once its consumer stops
    /// listening, before its task is cancelled). Returns false, finishing the continuation, when the
    /// registry is closed; the continuation is finished when `body` returns.
    package func start(_ continuation: RegistryWatch.Continuation, onEnd: (@Sendable () -> Void)? = nil,
                       _ body: @escaping @Sendable () async -> Void) -> Bool {
        // The consumer may leave before the task's id is known: remember that and cancel it then.
        let slot = NIOLockedValueBox<(id: OwnedTasks.ID?, ended: Bool)>((nil, false))
        continuation.onTermination = { [tasks] _ in
            onEnd?()
            let id = slot.withLockedValue { s -> OwnedTasks.ID? in
                s.ended = true
                return s.id
            }
            if let id { tasks.cancel(id) }
        }
        if slot.withLockedValue({ $0.ended }) { return !tasks.isClosed }
        guard let id = tasks.spawn({
            await body()
            continuation.finish()
        }) else {
            continuation.finish()
            return false
        }
        let ended = slot.withLockedValue { s -> Bool in
            s.id = id
            return s.ended
        }
        if ended { tasks.cancel(id) }
        return true
    }

    /// How many watch tasks run.
    package var count: Int { tasks.count }

    /// Refuses new watches, cancels the running ones and waits for them to end.
    package func close() async {
        await tasks.close()
    }
}
