/// The events a consumer receives (``EventStream/consume(_:options:)``), as an async sequence: each
/// is acknowledged with ``Event/ack()`` or given back with ``Event/nack()``.
///
/// The sequence ends (returns nil) once ``close()`` is called, the iterating task is cancelled, or the
/// stream shuts down; it throws ``EventsError`` when the backend stays unreachable. Iterate it from one
/// task at a time; several consumers of one group share its events.
public struct EventConsumer: AsyncSequence, Sendable {
    public typealias Element = Event
    /// The topic consumed.
    public let topic: String
    /// The group consumed in (a generated name for a consumer without one).
    public let group: String
    private let source: any EventSource

    /// A consumer reading `source`.
    package init(topic: String, group: String, source: any EventSource) {
        self.topic = topic
        self.group = group
        self.source = source
    }

    /// Ends the sequence; a group made for this consumer alone is removed.
    public func close() async {
        await source.close()
    }

    public func makeAsyncIterator() -> Iterator { Iterator(source: source) }

    /// Hands out the consumer's events.
    public struct Iterator: AsyncIteratorProtocol {
        let source: any EventSource

        public mutating func next() async throws -> Event? {
            try await source.next()
        }
    }
}
