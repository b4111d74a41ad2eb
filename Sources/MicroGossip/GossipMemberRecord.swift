import NIOCore

/// One member as the state machine keeps it: memberlist's `nodeState` (address, meta, incarnation,
/// state and when it last changed, protocol versions).
struct GossipMemberRecord: Sendable, Hashable {
    var name: String
    var addr: [UInt8]
    var port: UInt16
    var socket: SocketAddress?
    var meta: [UInt8]
    var incarnation: UInt32
    var state: GossipMemberState
    var stateChange: NIODeadline
    var vsn: [UInt8]

    /// The highest memberlist protocol version it speaks (1 when it did not say).
    var pmax: UInt8 { vsn.count >= 2 ? vsn[1] : 1 }

    /// Whether it is alive or suspect (probed, gossiped to, counted in the cluster size).
    var isUp: Bool { state == .alive || state == .suspect }

    /// What users see of it.
    var publicView: GossipMember {
        GossipMember(name: name, address: GossipAddress.hostPort(addr, port), state: state, incarnation: incarnation,
                     tags: SerfTags.decode(meta), versions: vsn)
    }
}
