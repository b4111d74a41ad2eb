/// A member's state as memberlist numbers it in push-pull state.
public enum GossipMemberState: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// Answering probes.
    case alive = 0
    /// Missed a probe; others have a limited time to refute.
    case suspect = 1
    /// Declared failed.
    case dead = 2
    /// Left the cluster on purpose.
    case left = 3

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}
