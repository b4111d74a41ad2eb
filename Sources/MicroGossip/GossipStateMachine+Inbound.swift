import NIOCore

extension GossipStateMachine {
    // MARK: Packets and streams

    /// The messages of one UDP packet from `from`.
    mutating func receive(_ messages: [GossipMessage], from: SocketAddress, now: NIODeadline) -> [GossipAction] {
        guard !isClosed else { return [] }
        var out: [GossipAction] = []
        for m in messages { handle(m, from: from, now: now, &out) }
        return out
    }

    /// One message read from a TCP stream: the reply to write, if any, and what to do.
    mutating func receiveStream(_ message: GossipMessage, now: NIODeadline) -> (reply: GossipStreamReply?, actions: [GossipAction]) {
        switch message {
        case .pushPull(let remote):
            guard !isClosed else { return (nil, []) }
            let nodes = localNodes
            return (.localState(nodes), merge(remote, now: now))
        case .ping(let p):
            guard p.node.isEmpty || p.node == name, let ack = try? GossipWire.encode(.ack(AckMessage(seqNo: p.seqNo))) else { return (nil, []) }
            return (.bytes(ack), [])
        case .user(let payload):
            return (nil, [.deliver(payload)])
        default:
            return (nil, [])
        }
    }

    /// Merges a push-pull's members (a join's answer, or a periodic exchange) as memberlist's mergeState does.
    mutating func merge(_ remote: PushPullMessage, now: NIODeadline) -> [GossipAction] {
        var out: [GossipAction] = []
        for n in remote.nodes {
            switch n.state {
            case .alive:
                aliveNode(AliveMessage(incarnation: n.incarnation, node: n.name, addr: n.addr, port: n.port, meta: n.meta, vsn: n.vsn),
                          bootstrap: false, now: now, &out)
            case .left:
                deadNode(AccusationMessage(incarnation: n.incarnation, node: n.name, from: n.name), now: now, &out)
            case .dead, .suspect:
                // memberlist: a member others think dead is only suspected here.
                suspectNode(AccusationMessage(incarnation: n.incarnation, node: n.name, from: name), now: now, &out)
            }
        }
        if !remote.userState.isEmpty { out.append(.mergeRemoteState(remote.userState, join: remote.join)) }
        return out
    }

    private mutating func handle(_ message: GossipMessage, from: SocketAddress, now: NIODeadline, _ out: inout [GossipAction]) {
        switch message {
        case .ping(let p):
            guard p.node.isEmpty || p.node == name else { return }
            var to = from
            if !p.sourceAddr.isEmpty, p.sourcePort != 0, let a = GossipAddress.socket(p.sourceAddr, p.sourcePort) { to = a }
            let target = p.sourceNode.isEmpty ? nil : members[p.sourceNode]
            if let ack = try? GossipWire.encode(.ack(AckMessage(seqNo: p.seqNo))) {
                out.append(.send(packet(ack, for: target), to: to))
            }
        case .indirectPing(let p):
            guard let target = GossipAddress.socket(p.target, p.port) else { return }
            var requester = from
            if !p.sourceAddr.isEmpty, p.sourcePort != 0, let a = GossipAddress.socket(p.sourceAddr, p.sourcePort) { requester = a }
            seq &+= 1
            let local = seq
            acks[local] = .relay(requester: requester, seqNo: p.seqNo, wantsNack: p.nack)
            let ping = PingMessage(seqNo: local, node: p.node, sourceAddr: advertiseAddr, sourcePort: advertisedPort, sourceNode: name)
            if let bytes = try? GossipWire.encode(.ping(ping)) { out.append(.send(bytes, to: target)) }
            out.append(.armRelayTimeout(seqNo: local, after: TimeAmount(configuration.probeTimeout)))
        case .ack(let a):
            switch acks[a.seqNo] {
            case .probe(var probe):
                probe.acked = true
                acks[a.seqNo] = .probe(probe)
                out.append(.ackProbe(seqNo: a.seqNo))
            case .relay(let requester, let seqNo, _):
                acks[a.seqNo] = nil
                if let bytes = try? GossipWire.encode(.ack(AckMessage(seqNo: seqNo))) { out.append(.send(bytes, to: requester)) }
            case nil: break
            }
        case .nack(let seqNo):
            if case .probe(var probe) = acks[seqNo] {
                probe.nacks += 1
                acks[seqNo] = .probe(probe)
            }
        case .suspect(let m): suspectNode(m, now: now, &out)
        case .alive(let m): aliveNode(m, bootstrap: false, now: now, &out)
        case .dead(let m): deadNode(m, now: now, &out)
        case .user(let payload): out.append(.deliver(payload))
        case .error(let text): out.append(.log("peer reported an error", ["from": "\(from)", "error": "\(text)"]))
        case .pushPull: break
        }
    }

    // MARK: memberlist state.go

    /// memberlist's aliveNode: learn a member, take a newer incarnation or a new address, refute gossip about this node.
    mutating func aliveNode(_ a: AliveMessage, bootstrap: Bool, now: NIODeadline, _ out: inout [GossipAction]) {
        let isSelf = a.node == name
        if isSelf, isLeaving { return }
        guard !a.node.isEmpty, a.node.utf8.count <= 512, a.meta.count <= Self.maxMetaSize,
              a.addr.count == 4 || a.addr.count == 16 else { return }
        if a.vsn.count >= 3, a.vsn[1] < 1 || a.vsn[0] > 5 { return }  // speaks no protocol version we do
        guard var m = members[a.node] else {
            if isSelf && !bootstrap { refute(accused: a.incarnation); return }
            guard members.count < Self.maxMembers else { return }
            let m = GossipMemberRecord(name: a.node, addr: a.addr, port: a.port, socket: GossipAddress.socket(a.addr, a.port), meta: a.meta,
                                       incarnation: a.incarnation, state: .alive, stateChange: now, vsn: a.vsn)
            members[a.node] = m
            // Insert at a random place in the probe order, as memberlist does.
            probeList.insert(a.node, at: Int.random(in: 0...probeList.count, using: &random))
            enqueue(key: a.node, .alive(a))
            if !isSelf { out.append(.notify(.joined(m.publicView))) }
            return
        }
        if isSelf {
            if bootstrap { return }
            // Someone gossips about us: refute anything that is not exactly what we said.
            if a.incarnation < incarnation { return }
            if a.incarnation == incarnation && a.meta == meta && a.addr == m.addr && a.port == m.port { return }
            refute(accused: a.incarnation)
            return
        }
        let sameAddress = m.addr == a.addr && m.port == a.port
        if !sameAddress && m.isUp && a.incarnation <= m.incarnation { return }
        guard a.incarnation > m.incarnation || (!sameAddress && (m.state == .dead || m.state == .left)) else { return }
        let wasDown = m.state == .dead || m.state == .left
        let changed = m.meta != a.meta || !sameAddress
        suspicions[a.node] = nil
        m.incarnation = a.incarnation
        m.meta = a.meta
        m.addr = a.addr
        m.port = a.port
        m.socket = GossipAddress.socket(a.addr, a.port)
        if !a.vsn.isEmpty { m.vsn = a.vsn }
        if m.state != .alive {
            m.state = .alive
            m.stateChange = now
        }
        members[a.node] = m
        enqueue(key: a.node, .alive(a))
        if wasDown { out.append(.notify(.joined(m.publicView))) } else if changed { out.append(.notify(.updated(m.publicView))) }
    }

    /// memberlist's suspectNode: start (or confirm, Lifeguard) a suspicion; about this node, refute.
    mutating func suspectNode(_ a: AccusationMessage, now: NIODeadline, _ out: inout [GossipAction]) {
        guard var m = members[a.node], a.incarnation >= m.incarnation else { return }
        if m.state == .suspect {
            if var timer = suspicions[a.node], timer.confirm(from: a.from) {
                suspicions[a.node] = timer
                enqueue(key: a.node, .suspect(a))
            }
            return
        }
        guard m.state == .alive else { return }
        if a.node == name {
            if isLeaving { return }
            refute(accused: a.incarnation)
            awareness = min(awareness + 1, configuration.awarenessMaxMultiplier - 1)
            out.append(.log("refuting a suspicion about this node", ["from": "\(a.from)"]))
            return
        }
        enqueue(key: a.node, .suspect(a))
        m.incarnation = a.incarnation
        m.state = .suspect
        m.stateChange = now
        members[a.node] = m
        // Lifeguard: expect suspicionMult - 2 independent confirmations, if the cluster has that many.
        let n = members.values.filter(\.isUp).count
        var k = configuration.suspicionMult - 2
        if n - 2 < k { k = 0 }
        let minTimeout = suspicionTimeout(members: n)
        let maxTimeout = minTimeout * Int64(max(1, configuration.suspicionMaxTimeoutMult))
        suspicions[a.node] = GossipSuspicion(from: a.from, k: k, min: minTimeout, max: maxTimeout, now: now)
        out.append(.log("suspecting a member", ["node": "\(a.node)", "from": "\(a.from)"]))
    }

    /// memberlist's deadNode: declare a member dead (or left, when it says so itself); about this node, refute unless leaving.
    mutating func deadNode(_ a: AccusationMessage, now: NIODeadline, _ out: inout [GossipAction]) {
        guard var m = members[a.node], a.incarnation >= m.incarnation else { return }
        suspicions[a.node] = nil
        guard m.isUp else { return }
        if a.node == name, !isLeaving {
            refute(accused: a.incarnation)
            return
        }
        enqueue(key: a.node, .dead(a))
        m.incarnation = a.incarnation
        m.state = a.node == a.from ? .left : .dead
        m.stateChange = now
        members[a.node] = m
        if a.node != name { out.append(.notify(.left(m.publicView))) }
        out.append(.log("member \(m.state)", ["node": "\(a.node)", "from": "\(a.from)"]))
    }

    /// Raises this node's incarnation above `accused` and broadcasts it alive.
    mutating func refute(accused: UInt32) {
        var inc = incarnation &+ 1
        if accused >= inc { inc = accused &+ 1 }
        incarnation = inc
        guard var me = members[name] else { return }
        me.incarnation = inc
        members[name] = me
        enqueue(key: name, .alive(AliveMessage(incarnation: inc, node: name, addr: me.addr, port: me.port, meta: meta, vsn: Self.versions)))
    }
}
