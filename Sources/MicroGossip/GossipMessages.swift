/// memberlist's message type bytes (net.go), the first byte of every packet and stream.
enum GossipMessageType: UInt8, Sendable {
    case ping = 0, indirectPing, ack, suspect, alive, dead, pushPull, compound, user, compress, encrypt, nack, hasCrc, err
}

/// `ping`: are you there? (`Node` names the intended target, so a reused address is not mistaken for it.)
struct PingMessage: Sendable, Hashable {
    var seqNo: UInt32
    var node: String
    var sourceAddr: [UInt8] = []
    var sourcePort: UInt16 = 0
    var sourceNode: String = ""
}

/// `indirectPing`: ping `node` at `target:port` for me and relay the ack (or a nack).
struct IndirectPingMessage: Sendable, Hashable {
    var seqNo: UInt32
    var target: [UInt8]
    var port: UInt16
    var node: String
    var nack: Bool
    var sourceAddr: [UInt8] = []
    var sourcePort: UInt16 = 0
    var sourceNode: String = ""
}

/// `ack`: the answer to a ping, with an optional payload (serf puts its coordinates there).
struct AckMessage: Sendable, Hashable {
    var seqNo: UInt32
    var payload: [UInt8] = []
}

/// `suspect`, `dead`: `from` accuses `node` at `incarnation` (dead with `from == node` is a leave).
struct AccusationMessage: Sendable, Hashable {
    var incarnation: UInt32
    var node: String
    var from: String
}

/// `alive`: `node` is alive at `incarnation`, reachable at `addr:port`, with its meta and versions.
struct AliveMessage: Sendable, Hashable {
    var incarnation: UInt32
    var node: String
    var addr: [UInt8]
    var port: UInt16
    var meta: [UInt8]
    var vsn: [UInt8]
}

/// One member in push-pull state.
struct PushNodeState: Sendable, Hashable {
    var name: String
    var addr: [UInt8]
    var port: UInt16
    var meta: [UInt8]
    var incarnation: UInt32
    var state: GossipMemberState
    var vsn: [UInt8]
}

/// A push-pull exchange: every member the sender knows, and the delegate's user state.
struct PushPullMessage: Sendable, Hashable {
    var join: Bool
    var nodes: [PushNodeState]
    var userState: [UInt8]
}

/// One memberlist message, after compound, compression and checksum wrappers are removed.
enum GossipMessage: Sendable, Hashable {
    case ping(PingMessage)
    case indirectPing(IndirectPingMessage)
    case ack(AckMessage)
    case nack(seqNo: UInt32)
    case suspect(AccusationMessage)
    case alive(AliveMessage)
    case dead(AccusationMessage)
    case pushPull(PushPullMessage)
    case user([UInt8])
    case error(String)
}
