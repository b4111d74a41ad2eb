/// What a ``KeyValueWatcher`` delivers: entries, and once the point where the initial values end.
public enum KeyValueWatchEvent: Sendable {
    /// A value or delete marker: one of the initial values, or a change after them.
    case entry(KeyValueEntry)
    /// Every initial value was delivered (also at once when there were none); later entries are changes.
    case initialValuesDone

    /// The entry, for ``entry(_:)``.
    public var entry: KeyValueEntry? {
        if case .entry(let entry) = self { return entry }
        return nil
    }
}
