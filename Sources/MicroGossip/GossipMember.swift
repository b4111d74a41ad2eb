/// A member of the gossip cluster as this node sees it.
public struct GossipMember: Sendable, Hashable, CustomStringConvertible {
    /// The unique node name.
    public var name: String
    /// Where it is reached, `host:port` (UDP and TCP on the same port).
    public var address: String
    /// Its state.
    public var state: GossipMemberState
    /// Its incarnation number (raised by the member to refute suspicion).
    public var incarnation: UInt32
    /// Its tags (serf's encoding of memberlist node meta).
    public var tags: [String: String]
    /// memberlist's `[pmin, pmax, pcur, dmin, dmax, dcur]` protocol versions.
    public var versions: [UInt8]

    /// Creates a member description.
    public init(name: String, address: String, state: GossipMemberState, incarnation: UInt32, tags: [String: String], versions: [UInt8]) {
        self.name = name
        self.address = address
        self.state = state
        self.incarnation = incarnation
        self.tags = tags
        self.versions = versions
    }

    public var description: String { "\(name)@\(address) \(state) #\(incarnation)" }
}
