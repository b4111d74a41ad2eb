/// A change in membership, as the node reports it to its delegate.
enum GossipMemberEvent: Sendable, Hashable {
    /// A member became alive (new, or back from dead/left).
    case joined(GossipMember)
    /// A live member's meta or address changed.
    case updated(GossipMember)
    /// A member was declared dead or left.
    case left(GossipMember)
}
