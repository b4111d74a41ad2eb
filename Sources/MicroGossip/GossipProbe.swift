import NIOCore

/// One probe as the I/O layer runs it: send `packet`, wait `timeout` for an ack, then report
/// ``GossipStateMachine/probeTimedOut(seqNo:)``, wait `indirectTimeout` more (pinging over TCP with
/// `tcpPing` meanwhile, when set), and end with ``GossipStateMachine/probeEnded(seqNo:acked:now:)``.
struct GossipProbe: Sendable, Equatable {
    var seqNo: UInt32
    /// The member probed.
    var target: String
    var socket: SocketAddress
    /// The ping (with piggybacked broadcasts, and a `suspect` when the target is suspected).
    var packet: [UInt8]
    /// The direct probe's wait: probeTimeout stretched by awareness.
    var timeout: TimeAmount
    /// The rest of the probe interval (also stretched), for indirect probes.
    var indirectTimeout: TimeAmount
    /// memberlist protocol 3+: the ping to send over TCP while indirect probes run.
    var tcpPing: [UInt8]?
}
