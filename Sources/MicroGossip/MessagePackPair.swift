/// One key and value of a msgpack map.
package struct MessagePackPair: Sendable, Hashable {
    /// The key.
    package var key: MessagePackValue
    /// The value.
    package var value: MessagePackValue

    /// Creates a pair.
    package init(_ key: MessagePackValue, _ value: MessagePackValue) {
        self.key = key
        self.value = value
    }
}
