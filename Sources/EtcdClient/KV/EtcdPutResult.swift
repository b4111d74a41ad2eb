/// The answer to a put.
public struct EtcdPutResult: Sendable, Hashable {
    /// The store revision after the put.
    public var revision: Int64
    /// The value before, when asked for.
    public var previous: EtcdKeyValue?

    /// Creates a result.
    public init(revision: Int64, previous: EtcdKeyValue? = nil) {
        self.revision = revision
        self.previous = previous
    }
}
