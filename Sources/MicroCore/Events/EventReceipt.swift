/// What a publish or write stored: the event's id, its place in the log, and whether the id was
/// already there (then nothing new was stored, and ``sequence`` is the earlier event's when known).
public struct EventReceipt: Sendable, Hashable {
    /// The event's id.
    public var id: String
    /// The stored event's sequence (``Event/sequence``).
    public var sequence: UInt64
    /// Whether the topic already held this id, so nothing was stored.
    public var duplicate: Bool

    /// A receipt.
    public init(id: String, sequence: UInt64, duplicate: Bool) {
        self.id = id
        self.sequence = sequence
        self.duplicate = duplicate
    }
}
