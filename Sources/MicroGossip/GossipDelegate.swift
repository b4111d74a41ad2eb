/// What the membership layer asks of the layer above (memberlist's Delegate and EventDelegate).
protocol GossipDelegate: Sendable {
    /// The user state sent in a push-pull.
    func localState(join: Bool) -> [UInt8]
    /// The user state received in a push-pull.
    func mergeRemoteState(_ state: [UInt8], join: Bool)
    /// A user message (from a packet or a stream).
    func notifyMessage(_ payload: [UInt8])
    /// A membership change.
    func notifyMembership(_ event: GossipMemberEvent)
}
