/// The status of the member that answered.
public struct EtcdMemberStatus: Sendable, Hashable {
    /// The answering member's id.
    public var memberID: UInt64
    /// The leader the member knows of (0: none).
    public var leaderID: UInt64
    /// The raft term.
    public var raftTerm: UInt64
    /// The member's etcd version.
    public var version: String
    /// The endpoint the status came from.
    public var endpoint: String

    /// Creates a status.
    public init(memberID: UInt64, leaderID: UInt64, raftTerm: UInt64, version: String, endpoint: String) {
        self.memberID = memberID
        self.leaderID = leaderID
        self.raftTerm = raftTerm
        self.version = version
        self.endpoint = endpoint
    }

    /// Whether the answering member is the leader.
    public var isLeader: Bool { memberID != 0 && memberID == leaderID }
}
