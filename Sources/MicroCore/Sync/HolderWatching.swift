/// A ``Sync`` engine that says when a key's holder changes instead of being asked again and again
/// (etcd's watch): ``Leader/observe(every:)`` follows it rather than polling.
public protocol HolderWatching: Sync {
    /// The holders of `key` as they change (nil: no one holds it), the first being the holder now. It
    /// ends when the task iterating it is cancelled and throws a ``SyncError`` when the engine fails.
    func watchHolder(of key: String) -> any AsyncSequence<LockHolder?, any Error> & Sendable
}
