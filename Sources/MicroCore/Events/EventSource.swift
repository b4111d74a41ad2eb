/// A backend's side of an ``EventConsumer``: the next delivery, and closing.
package protocol EventSource: Sendable {
    /// The next event, waiting for one; nil once closed (or the task is cancelled).
    func next() async throws -> Event?
    /// Ends the consumer: ``next()`` returns nil from now on; a group of its own is forgotten.
    func close() async
}
