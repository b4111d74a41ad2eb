import NIOConcurrencyHelpers

/// The tasks that feed a registry's watches (one per watch, following its engine): a task is
/// cancelled when its watch's consumer stops listening, none starts once the registry closed, and
/// closing cancels the running ones and waits for them.
public final class RegistryWatchTasks: Sendable {
    private struct State {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
        /// Watches whose consumer left before their task was stored.
        var ended: Set<Int> = []
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    /// No watches yet.
    public init() {}

    /// Runs `body` to feed the watch behind `continuation` (and `onEnd` once its consumer stops
    /// listening, before its task is cancelled). Returns false, finishing the continuation, when the
    /// registry is closed; the continuation is finished when `body` returns.
    public func start(_ continuation: RegistryWatch.Continuation, onEnd: (@Sendable () -> Void)? = nil,
                      _ body: @escaping @Sendable () async -> Void) -> Bool {
        let id = state.withLockedValue { s -> Int in
            s.next += 1
            return s.next
        }
        continuation.onTermination = { [weak self] _ in
            onEnd?()
            let task = self?.state.withLockedValue { s -> Task<Void, Never>? in
                guard let task = s.tasks.removeValue(forKey: id) else {
                    if !s.closed { s.ended.insert(id) }
                    return nil
                }
                return task
            }
            task?.cancel()
        }
        let started = state.withLockedValue { s -> Bool in
            guard !s.closed else { return false }
            if s.ended.remove(id) != nil { return true }   // the consumer already left: nothing to feed
            s.tasks[id] = Task {
                await body()
                continuation.finish()
            }
            return true
        }
        if !started { continuation.finish() }
        return started
    }

    /// How many watch tasks run.
    public var count: Int { state.withLockedValue { $0.tasks.count } }

    /// Refuses new watches, cancels the running ones and waits for them to end.
    public func close() async {
        let tasks = state.withLockedValue { s -> [Task<Void, Never>] in
            s.closed = true
            defer { s.tasks = [:] }
            return Array(s.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
