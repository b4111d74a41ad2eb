/// The leaders of an election as they change (``Leader/observe(every:)``): each element differs from
/// the one before; nil means no one leads. Checks the engine every interval while iterated; no task
/// runs between calls to `next()`.
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

        init(sync: any Sync, key: String, interval: Duration) {
            self.sync = sync
            self.key = key
            self.interval = interval
        }

        /// The next leader that differs from the last one returned; nil when the task is cancelled.
        public mutating func next() async throws -> LockHolder?? {
            while !Task.isCancelled {
                let now = try await sync.holder(of: key)
                if last == nil || last! != now {
                    last = .some(now)
                    return .some(now)
                }
                do { try await Task.sleep(for: interval) } catch { return nil }
            }
            return nil
        }
    }
}
