/// What settles one delivery of an ``Event``: the backend's side of ``Event/ack()`` and ``Event/nack()``.
package protocol EventAcknowledger: Sendable {
    /// The delivery is done.
    func ack() async throws
    /// The delivery failed: deliver again, or dead-letter after the last allowed delivery.
    func nack() async throws
}
