/// Models in a store.
extension Store {
    /// The rows of `type` in this store's database (in the table its schema names).
    public func model<M: Model>(_ type: M.Type) -> ModelStore<M> {
        ModelStore(type, store: self)
    }
}
