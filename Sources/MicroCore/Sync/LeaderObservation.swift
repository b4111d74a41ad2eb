/// The leaders of an election as they change (``Leader/observe(every:)``): each element differs from
/// the one before; nil means no one leads. Follows the engine's watch when it has one
/// (``HolderWatching``), else checks the engine every interval while iterated; no task runs between
/// calls to `next()`.
public struct LeaderObservation: AsyncSequence, Sendable {
    public typealias Element = LockHolder?
    let sync: any Sync
    let key: String
    let interval: Duration

    /// An iterator that starts from the leader now.
    public func makeAsyncIterator() -> Iterator {
        Iterator(sync: sync, key: key, interval: interval)
    }

    /// Iterates the changes.
    public struct Iterator: AsyncIteratorProtocol {
        let sync: any Sync
        let key: String
        let interval: Duration
        var last: LockHolder??
        /// The engine's watch, once started (nil: the engine has none, or not started yet).
        var watch: (any AsyncIteratorProtocol<LockHolder?, any Error>)?

        init(sync: any Sync, key: String, interval: Duration) {
            self.sync = sync
            self.key = key
            self.interval = interval
        }

        /// The next leader that differs from the last one returned; nil when the task is cancelled.
        public mutating func next() async throws -> LockHolder?? {
            if watch == nil, let watching = sync as? any HolderWatching {
                watch = watching.watchHolder(of: key).makeAsyncIterator()
            }
            while !Task.isCancelled {
                let now: LockHolder?
                if var iterator = watch {
                    guard let changed = try await iterator.next() else { return nil }
                    watch = iterator
                    now = changed
                } else {
                    now = try await sync.holder(of: key)
                }
                if last == nil || last! != now {
                    last = .some(now)
                    return .some(now)
                }
                if watch == nil {
                    do { try await Task.sleep(for: interval) } catch { return nil }
                }
            }
            return nil
        }
    }
}
