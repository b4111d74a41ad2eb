import MicroCore

extension MicroService {
    /// The rows of `type` in the service's store (``store``): a SQLite table by default, index records
    /// on key-value stores.
    public func model<M: Model>(_ type: M.Type) -> ModelStore<M> {
        store.model(type)
    }
}
