/// A store that keeps models natively rather than as key-value records (SQL backends).
package protocol ModelBackendProvider {
    /// The backend for a model laid out as `layout`, in this store's database.
    func modelBackend(for layout: ModelLayout) throws -> any ModelBackend
}
