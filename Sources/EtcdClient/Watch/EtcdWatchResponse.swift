/// One batch of a watch's events, all at or below ``revision``.
public struct EtcdWatchResponse: Sendable, Hashable {
    /// The events, in revision order.
    public var events: [EtcdEvent]
    /// The store revision when etcd sent the batch.
    public var revision: Int64

    /// Creates a batch.
    public init(events: [EtcdEvent], revision: Int64) {
        self.events = events
        self.revision = revision
    }
}

/// A watch: batches of events in revision order, surviving the loss of a member (the client resumes
/// from the next revision on another one). It ends with an ``EtcdError`` when history it needs was
/// compacted (``EtcdError/Code/compacted``; read again and watch from the new revision), when etcd
/// cancels it, when its consumer falls behind its buffer, or when the client shuts down. Stop
/// iterating (or cancel the iterating task) to cancel it.
public typealias EtcdWatch = AsyncThrowingStream<EtcdWatchResponse, any Error>
