/// What the state machine answers on a TCP stream.
enum GossipStreamReply: Sendable, Equatable {
    /// These bytes.
    case bytes([UInt8])
    /// A push-pull (`join: false`) with these members and the delegate's user state.
    case localState([PushNodeState])
}
