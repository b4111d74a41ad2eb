/// When a write may happen: the optimistic concurrency of a store. A write whose condition fails
/// throws ``StoreError/Code/conflict`` and changes nothing, never overwriting silently.
public enum StoreCondition: Sendable, Hashable {
    /// Write whatever is there.
    case always
    /// Write only if no live record has the key (an expired one counts as absent).
    case ifAbsent
    /// Write only if the live record's revision is this one (it was not written since it was read).
    case ifRevision(UInt64)
}
