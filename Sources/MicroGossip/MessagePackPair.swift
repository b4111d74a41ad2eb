/// One key and value of a msgpack map.
public struct MessagePackPair: Sendable, Hashable {
    /// The key.
    public var key: MessagePackValue
    /// The value.
    public var value: MessagePackValue

    /// Creates a pair.
    public init(_ key: MessagePackValue, _ value: MessagePackValue) {
        self.key = key
        self.value = value
    }
}
