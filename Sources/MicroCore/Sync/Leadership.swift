/// A term as leader: its token, its lease, and the signal that it ended.
public struct Leadership: Sendable {
    /// The lease the term holds.
    public let lease: LockLease

    /// The term's fencing token: greater than every earlier term's.
    public var term: FencingToken { lease.token }

    /// Whether this caller still leads.
    public var isLeader: Bool { lease.isHeld }

    /// Waits until the term ends: why it was lost, or nil after ``resign()`` (or when cancelled).
    public func lost() async -> SyncError? { await lease.lost() }

    /// Ends the term, so another campaign can win.
    public func resign() async throws { try await lease.release() }
}
