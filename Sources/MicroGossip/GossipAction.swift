import Logging
import NIOCore

/// What the membership state machine asks its I/O layer to do, in order (sends first).
enum GossipAction: Sendable, Equatable {
    /// Send one UDP packet (already framed: compound, checksum) to `to`.
    case send([UInt8], to: SocketAddress)
    /// Tell the delegate about a membership change.
    case notify(GossipMemberEvent)
    /// Hand a user message to the delegate.
    case deliver([UInt8])
    /// Hand a push-pull's user state to the delegate.
    case mergeRemoteState([UInt8], join: Bool)
    /// An ack for the running probe `seqNo` came: wake whoever waits for it.
    case ackProbe(seqNo: UInt32)
    /// Call ``GossipStateMachine/relayTimedOut(seqNo:)`` after `after` (an indirect ping we relay).
    case armRelayTimeout(seqNo: UInt32, after: TimeAmount)
    /// Log at debug level.
    case log(Logger.Message, Logger.Metadata)
}
