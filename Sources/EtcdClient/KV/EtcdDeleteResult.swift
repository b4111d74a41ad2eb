/// The answer to a delete.
public struct EtcdDeleteResult: Sendable, Hashable {
    /// The store revision after the delete.
    public var revision: Int64
    /// How many keys were deleted.
    public var deleted: Int64
    /// The deleted key-values, when asked for.
    public var previous: [EtcdKeyValue]

    /// Creates a result.
    public init(revision: Int64, deleted: Int64, previous: [EtcdKeyValue] = []) {
        self.revision = revision
        self.deleted = deleted
        self.previous = previous
    }
}
