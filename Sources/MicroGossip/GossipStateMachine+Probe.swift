import NIOCore

extension GossipStateMachine {
    /// The next member to probe, round-robin over a shuffled list (skipping this node and the dead).
    mutating func nextProbeTarget() -> GossipMemberRecord? {
        for _ in 0..<(probeList.count + 1) {
            if probeIndex >= probeList.count {
                probeList = probeList.filter { members[$0] != nil }.shuffled(using: &random)
                probeIndex = 0
                if probeList.isEmpty { return nil }
            }
            let candidate = probeList[probeIndex]
            probeIndex += 1
            if candidate == name { continue }
            if let m = members[candidate], m.isUp, m.socket != nil { return m }
        }
        return nil
    }

    /// Starts probing the next member; nil when there is none (or this node is leaving or closed).
    mutating func startProbe(now: NIODeadline) -> GossipProbe? {
        guard !isClosed, !isLeaving, let target = nextProbeTarget(), let socket = target.socket else { return nil }
        seq &+= 1
        let seqNo = seq
        acks[seqNo] = .probe(PendingProbe(target: target))
        let ping = PingMessage(seqNo: seqNo, node: target.name, sourceAddr: advertiseAddr, sourcePort: advertisedPort, sourceNode: name)
        guard let pingBytes = try? GossipWire.encode(.ping(ping)) else { return nil }
        var bytes = pingBytes
        if target.state == .suspect,
           let suspect = try? GossipWire.encode(.suspect(AccusationMessage(incarnation: target.incarnation, node: target.name, from: name))) {
            // Tell the suspect, so it can refute.
            bytes = GossipWire.compound([bytes, suspect])
        }
        let scale = Int64(awareness + 1)
        let timeout = TimeAmount(configuration.probeTimeout) * scale
        return GossipProbe(seqNo: seqNo, target: target.name, socket: socket, packet: packet(bytes, for: target), timeout: timeout,
                           indirectTimeout: TimeAmount(configuration.probeInterval) * scale - timeout,
                           tcpPing: target.pmax >= 3 ? pingBytes : nil)
    }

    /// The direct probe `seqNo` got no ack in time: ask `indirectChecks` other live members to ping the target.
    mutating func probeTimedOut(seqNo: UInt32) -> [GossipAction] {
        guard case .probe(var probe) = acks[seqNo] else { return [] }
        let target = probe.target
        let relays = sortedMembers.filter { $0.name != name && $0.name != target.name && $0.state == .alive && $0.socket != nil }
            .shuffled(using: &random).prefix(max(0, configuration.indirectChecks))
        var out: [GossipAction] = []
        for relay in relays {
            let wantsNack = relay.pmax >= 4
            if wantsNack { probe.expectedNacks += 1 }
            let req = IndirectPingMessage(seqNo: seqNo, target: target.addr, port: target.port, node: target.name, nack: wantsNack,
                                          sourceAddr: advertiseAddr, sourcePort: advertisedPort, sourceNode: name)
            if let bytes = try? GossipWire.encode(.indirectPing(req)), let send = send(bytes, to: relay) { out.append(send) }
        }
        acks[seqNo] = .probe(probe)
        return out
    }

    /// The probe `seqNo` is over (`acked`: the I/O layer saw an ack, by UDP or TCP). Lifeguard: an ack
    /// lowers this node's awareness; without one, missing nacks raise it and the target is suspected.
    mutating func probeEnded(seqNo: UInt32, acked: Bool, now: NIODeadline) -> [GossipAction] {
        var probe: PendingProbe?
        if case .probe(let p) = acks.removeValue(forKey: seqNo) { probe = p }
        if acked || probe?.acked == true {
            adjustAwareness(-1)
            return []
        }
        guard !isClosed, !isLeaving, let probe else { return [] }
        adjustAwareness(probe.expectedNacks > 0 ? max(0, probe.expectedNacks - probe.nacks) : 1)
        guard let m = members[probe.target.name] else { return [] }
        var out: [GossipAction] = []
        suspectNode(AccusationMessage(incarnation: m.incarnation, node: m.name, from: name), now: now, &out)
        return out
    }

    /// The ping relayed as `seqNo` got no ack within probeTimeout: forget it, and nack the requester if it asked.
    mutating func relayTimedOut(seqNo: UInt32) -> [GossipAction] {
        guard case .relay(let requester, let original, let wantsNack) = acks[seqNo] else { return [] }
        acks[seqNo] = nil
        guard wantsNack, let nack = try? GossipWire.encode(.nack(seqNo: original)) else { return [] }
        return [.send(nack, to: requester)]
    }

    /// Lifeguard's awareness, kept within `0..<awarenessMaxMultiplier`.
    mutating func adjustAwareness(_ delta: Int) {
        guard delta != 0 else { return }
        awareness = min(max(0, awareness + delta), max(0, configuration.awarenessMaxMultiplier - 1))
    }
}
