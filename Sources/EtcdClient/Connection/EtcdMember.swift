/// A member of the cluster.
public struct EtcdMember: Sendable, Hashable {
    /// The member id.
    public var id: UInt64
    /// Its name (empty until it started).
    public var name: String
    /// The URLs clients reach it at.
    public var clientURLs: [String]
    /// The URLs its peers reach it at.
    public var peerURLs: [String]
    /// Whether it is a non-voting learner.
    public var isLearner: Bool

    /// Creates a member.
    public init(id: UInt64, name: String, clientURLs: [String], peerURLs: [String], isLearner: Bool = false) {
        self.id = id
        self.name = name
        self.clientURLs = clientURLs
        self.peerURLs = peerURLs
        self.isLearner = isLearner
    }
}
