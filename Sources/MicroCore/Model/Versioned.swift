/// A model as a store holds it, with the revision an update passes back to fail on a concurrent change.
/// Its fields read through: `user.name` for `user.value.name`.
@dynamicMemberLookup
public struct Versioned<M: Model>: Sendable {
    /// The model.
    public var value: M
    /// The store's revision of this row: higher on every write.
    public var revision: UInt64

    /// A model at a revision.
    public init(_ value: M, revision: UInt64) {
        self.value = value
        self.revision = revision
    }

    /// A field of the model.
    public subscript<T>(dynamicMember keyPath: KeyPath<M, T>) -> T {
        value[keyPath: keyPath]
    }

    /// A field of the model, to change before an update.
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<M, T>) -> T {
        get { value[keyPath: keyPath] }
        set { value[keyPath: keyPath] = newValue }
    }
}
