/// A key for ``Extensions``: declared by the module that owns the value (a gRPC descriptor set an
/// engine reads from a router, an HTTP transport's limits a factory reads from its context), so the
/// core carries it without knowing what it is.
public protocol ExtensionKey: Sendable {
    /// The value stored under the key.
    associatedtype Value: Sendable
}

/// Typed values keyed by ``ExtensionKey`` types: the extension point of ``ServerDescription`` and
/// ``EngineContext``.
public struct Extensions: Sendable {
    private var values: [ObjectIdentifier: any Sendable] = [:]

    /// No values.
    public init() {}

    /// The value under `key`, nil when none was set.
    public subscript<Key: ExtensionKey>(_ key: Key.Type) -> Key.Value? {
        get { values[ObjectIdentifier(key)] as? Key.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }
}
