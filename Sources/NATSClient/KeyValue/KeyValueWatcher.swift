import Synchronization

/// A watch of keys of a bucket: the initial values (the last of each matching key, or every stored
/// one with history), then ``KeyValueWatchEvent/initialValuesDone``, then every change as it happens,
/// in revision order. It runs on a ``JetStreamOrderedConsumer``; iterate it from one task at a time
/// and ``stop()`` it when done.
public final class KeyValueWatcher: AsyncSequence, Sendable {
    /// An entry, or the end of the initial values.
    public typealias Element = KeyValueWatchEvent

    /// The bucket watched.
    public let bucket: String
    /// The consumer delivering the bucket's messages.
    public let consumer: JetStreamOrderedConsumer
    private let options: KeyValueWatchOptions
    private let prefix: String
    private let state: Mutex<State>

    private struct State: Sendable {
        var initialDone = false
        var doneDelivered = false
    }

    init(bucket: String, prefix: String, consumer: JetStreamOrderedConsumer, options: KeyValueWatchOptions) {
        self.bucket = bucket
        self.prefix = prefix
        self.consumer = consumer
        self.options = options
        self.state = Mutex(State(initialDone: options.updatesOnly || consumer.pendingAtStart == 0))
    }

    /// The sequence's iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(watcher: self, messages: consumer.makeAsyncIterator()) }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let watcher: KeyValueWatcher
        var messages: JetStreamOrderedConsumer.AsyncIterator

        /// The next event; nil once stopped.
        public mutating func next() async throws -> KeyValueWatchEvent? {
            while true {
                if watcher.takeInitialDone() { return .initialValuesDone }
                guard let message = try await messages.next() else { return nil }
                let entry = try watcher.entry(message)
                if entry.operation != .put, watcher.options.ignoreDeletes { continue }
                return .entry(entry)
            }
        }
    }

    /// Ends the watch and deletes its consumer.
    public func stop() async { await consumer.stop() }

    /// Whether the end of the initial values is due now (once).
    private func takeInitialDone() -> Bool {
        state.withLock { s in
            guard s.initialDone, !s.doneDelivered else { return false }
            s.doneDelivered = true
            return true
        }
    }

    /// The entry of a delivered message; the initial values end with the one after which nothing was
    /// pending, or with the last the first consumer had pending at its creation.
    private func entry(_ message: JetStreamMessage) throws -> KeyValueEntry {
        let meta = message.metadata
        guard message.subject.hasPrefix(prefix), message.subject.utf8.count > prefix.utf8.count else {
            throw JetStreamError(.invalidResponse, "watch of \(bucket): a message on \(message.subject.debugDescription)")
        }
        let key = String(message.subject.dropFirst(prefix.count))
        let initialEnds = meta.pending == 0 || (consumer.resets == 0 && meta.consumerSequence >= consumer.pendingAtStart)
        if initialEnds { state.withLock { $0.initialDone = true } }
        return KeyValueEntry(bucket: bucket, key: key, value: message.payload, revision: meta.streamSequence, created: meta.timestamp,
                             delta: meta.pending, operation: KeyValueEntry.operation(message.headers), headers: message.headers)
    }
}
