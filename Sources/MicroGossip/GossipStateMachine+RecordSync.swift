import NIOCore

extension GossipStateMachine {
    // MARK: Record sync

    /// A live Swift Micro member to push-pull with so this node's service records converge, while no
    /// push-pull with one has succeeded yet (its seeds were serf agents, which carry no records, or it
    /// had none) and no such exchange is under way or waiting out a failure. Marks one under way.
    mutating func recordSyncTarget(now: NIODeadline) -> GossipMemberRecord? {
        guard !isClosed, !isLeaving, !recordsSynced, recordSyncUnderWay == nil else { return nil }
        if let retryAt = recordSyncRetryAt, now < retryAt { return nil }
        let candidates = sortedMembers.filter { $0.name != name && $0.state == .alive && $0.socket != nil && isMicro($0.meta) }
        guard let target = candidates.randomElement(using: &random) else { return nil }
        recordSyncUnderWay = target.socket
        return target
    }

    /// An outgoing push-pull with `address` ended (a join, a periodic exchange or a record sync). One
    /// that succeeded with a Swift Micro member completes the record sync; a failed record sync is
    /// tried again, with any Swift member, a probe interval later.
    mutating func pushPullEnded(with address: SocketAddress, succeeded: Bool, now: NIODeadline) {
        let wasRecordSync = recordSyncUnderWay == address
        if wasRecordSync { recordSyncUnderWay = nil }
        if succeeded, members.values.contains(where: { $0.name != name && $0.isUp && $0.socket == address && isMicro($0.meta) }) {
            recordsSynced = true
            recordSyncRetryAt = nil
        } else if wasRecordSync {
            recordSyncRetryAt = now + TimeAmount(configuration.probeInterval)
        }
    }
}
