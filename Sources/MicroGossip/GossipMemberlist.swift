import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One SWIM member speaking hashicorp memberlist's protocol: probes (direct, then indirect through
/// `k` members, with nacks), Lifeguard suspicion and awareness, incarnations and refutation,
/// piggybacked broadcasts, TCP push-pull on join and periodically, graceful leave.
///
/// State lives under one lock; handlers compute what to send and report, and the sends and
/// delegate calls happen after the lock is released.
final class GossipMemberlist: Sendable {
    /// memberlist's `[pmin, pmax, pcur, dmin, dmax, dcur]`: memberlist 1...5 speaking 2, serf's delegate 2...5 speaking 5.
    static let versions: [UInt8] = [1, 5, 2, 2, 5, 5]
    /// Largest node meta memberlist accepts.
    static let maxMetaSize = 512
    /// Most members remembered (gossip is unauthenticated: a bound on what strangers can make us keep).
    static let maxMembers = 65_536

    struct Member: Sendable {
        var name: String
        var addr: [UInt8]
        var port: UInt16
        var socket: SocketAddress?
        var meta: [UInt8]
        var incarnation: UInt32
        var state: GossipMemberState
        var stateChange: NIODeadline
        var vsn: [UInt8]

        var pmax: UInt8 { vsn.count >= 2 ? vsn[1] : 1 }

        var publicView: GossipMember {
            GossipMember(name: name, address: GossipAddress.hostPort(addr, port), state: state, incarnation: incarnation,
                         tags: SerfTags.decode(meta), versions: vsn)
        }
    }

    private enum PendingAck: Sendable {
        case probe(GossipAckWaiter)
        case relay(to: SocketAddress, seqNo: UInt32)
    }

    private struct State: Sendable {
        var members: [String: Member] = [:]
        var probeList: [String] = []
        var probeIndex = 0
        var incarnation: UInt32 = 0
        var seq: UInt32 = 0
        var awareness = 0
        var suspicions: [String: GossipSuspicion] = [:]
        var acks: [UInt32: PendingAck] = [:]
        var broadcasts = GossipBroadcastQueue()
        var userBroadcasts = GossipBroadcastQueue()
        var transport: GossipTransport?
        var leaving = false
        var closed = false
    }

    /// What a handler decided: packets to send and things to tell the delegate, in order.
    private struct Outbox {
        enum Note { case event(GossipMemberEvent), message([UInt8]) }
        var packets: [([UInt8], SocketAddress)] = []
        var notes: [Note] = []
    }

    let name: String
    let configuration: GossipConfiguration
    let advertiseAddr: [UInt8]
    let meta: [UInt8]
    /// Whether a member's meta marks it as a Swift Micro gossip node (those get record broadcasts).
    let isMicro: @Sendable ([UInt8]) -> Bool
    private let delegate: any GossipDelegate
    private let logger: Logger
    private let limits = GossipWire.Limits()
    private let state = NIOLockedValueBox(State())
    private let loop: any EventLoop

    init(name: String, configuration: GossipConfiguration, advertiseAddr: [UInt8], meta: [UInt8],
         isMicro: @escaping @Sendable ([UInt8]) -> Bool, delegate: any GossipDelegate, logger: Logger) {
        self.name = name
        self.configuration = configuration
        self.advertiseAddr = advertiseAddr
        self.meta = meta
        self.isMicro = isMicro
        self.delegate = delegate
        self.logger = logger
        self.loop = MultiThreadedEventLoopGroup.singleton.next()
    }

    // MARK: Lifecycle

    /// Binds the sockets and announces this node alive; returns the bound port.
    func start() async throws -> Int {
        let transport = try await GossipTransport.bind(
            host: configuration.bindHost, port: configuration.bindPort, limits: limits,
            tcpTimeout: Self.amount(configuration.tcpTimeout),
            onPacket: { [weak self] bytes, from in self?.handlePacket(bytes, from: from) },
            onStream: { [weak self] message, from in self?.handleStream(message, from: from) })
        let port = UInt16(configuration.advertisePort ?? transport.port)
        var out = Outbox()
        state.withLockedValue { s in
            s.transport = transport
            s.incarnation = 1
            let me = AliveMessage(incarnation: 1, node: name, addr: advertiseAddr, port: port, meta: meta, vsn: Self.versions)
            aliveNode(me, bootstrap: true, &s, &out)
        }
        deliver(out)
        return transport.port
    }

    /// The port this node advertises.
    var advertisedPort: UInt16 {
        state.withLockedValue { $0.members[name]?.port ?? 0 }
    }

    /// Runs the probe, gossip, suspicion and push-pull loops until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.probeLoop() }
            group.addTask { await self.every(self.configuration.gossipInterval) { self.gossip() } }
            group.addTask { await self.every(self.tickInterval) { self.tick() } }
            group.addTask { await self.pushPullLoop() }
            group.addTask { await self.joinRetryLoop() }
        }
    }

    /// Tells the cluster this node leaves (dead about itself, plus `extraUserMessages` first), sent
    /// straight to every live member.
    func leave(extraUserMessages: [[UInt8]] = []) async {
        let plan = state.withLockedValue { s -> (targets: [Member], dead: [UInt8])? in
            guard !s.closed, !s.leaving, s.transport != nil else { return nil }
            s.leaving = true
            let d = AccusationMessage(incarnation: s.incarnation, node: name, from: name)
            guard let bytes = try? GossipWire.encode(.dead(d)) else { return nil }
            if var me = s.members[name] {
                me.state = .left
                me.stateChange = .now()
                s.members[name] = me
            }
            let targets = s.members.values.filter { $0.name != name && ($0.state == .alive || $0.state == .suspect) }
            return (Array(targets), bytes)
        }
        guard let plan else { return }
        for payload in extraUserMessages {
            guard let bytes = try? GossipWire.encode(.user(payload)) else { continue }
            for m in plan.targets { sendPacket(bytes, to: m) }
        }
        if !extraUserMessages.isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        // Twice, a little apart: UDP may drop one.
        for round in 0..<2 {
            for m in plan.targets { sendPacket(plan.dead, to: m) }
            if round == 0 { try? await Task.sleep(for: .milliseconds(30)) }
        }
    }

    /// Closes the sockets; pending probes end at their timeouts.
    func close() async {
        let transport = state.withLockedValue { s -> GossipTransport? in
            s.closed = true
            let acks = s.acks
            s.acks.removeAll()
            for case .probe(let w) in acks.values { w.ack() }
            defer { s.transport = nil }
            return s.transport
        }
        await transport?.close()
    }

    // MARK: Queries

    /// Every member known, this node included, sorted by name.
    func members() -> [GossipMember] {
        state.withLockedValue { s in s.members.values.map(\.publicView).sorted { $0.name < $1.name } }
    }

    /// The member named `name`.
    func member(_ name: String) -> GossipMember? {
        state.withLockedValue { $0.members[name]?.publicView }
    }

    /// This node's Lifeguard health score (0 is healthy).
    var awareness: Int { state.withLockedValue { $0.awareness } }

    /// This node's incarnation.
    var incarnation: UInt32 { state.withLockedValue { $0.incarnation } }

    /// Suspects `node` as if a probe of it failed (for tests of refutation).
    func accuse(_ node: String) {
        var out = Outbox()
        state.withLockedValue { s in
            guard let m = s.members[node] else { return }
            suspectNode(AccusationMessage(incarnation: m.incarnation, node: node, from: name), &s, &out)
        }
        deliver(out)
    }

    // MARK: Broadcasts

    /// Queues a user message for gossip to Swift Micro members under `key` (replacing an older one).
    func broadcastUser(key: String, payload: [UInt8]) {
        guard let bytes = try? GossipWire.encode(.user(payload)) else { return }
        state.withLockedValue { $0.userBroadcasts.enqueue(key: key, message: bytes) }
        // A registration goes out at once rather than at the next gossip tick.
        gossip()
    }

    /// The largest user payload that fits a gossip packet.
    var maxUserPayload: Int { configuration.packetBudget - GossipWire.compoundHeaderOverhead - GossipWire.compoundPartOverhead - 1 - 64 }

    /// Sends a user message over TCP to every live Swift Micro member (for payloads too big for a packet).
    func sendReliableToMicroMembers(_ payload: [UInt8]) async {
        let targets = state.withLockedValue { s in
            s.members.values.filter { $0.name != name && $0.state == .alive && isMicro($0.meta) }.compactMap(\.socket)
        }
        guard let bytes = try? GossipWire.encodeStreamUser(payload), let transport = state.withLockedValue({ $0.transport }) else { return }
        await withTaskGroup(of: Void.self) { group in
            for address in targets {
                group.addTask {
                    do { _ = try await transport.exchange(bytes, to: address, expectReply: false) } catch {
                        self.logger.debug("reliable user message failed", metadata: ["to": "\(address)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    // MARK: Join and push-pull

    /// Push-pulls with each of `seeds` (join); returns how many answered.
    @discardableResult
    func join(_ seeds: [String]) async -> Int {
        var ok = 0
        for seed in seeds {
            do {
                let address = try GossipAddress.resolve(seed)
                try await pushPull(with: address, join: true)
                ok += 1
            } catch {
                logger.debug("join failed", metadata: ["seed": "\(seed)", "error": "\(error)"])
            }
        }
        return ok
    }

    /// One TCP state exchange with `address`.
    func pushPull(with address: SocketAddress, join: Bool) async throws {
        guard let transport = state.withLockedValue({ $0.transport }) else { throw GossipError(.shutdown) }
        let request = try GossipWire.encode(.pushPull(localState(join: join)))
        let reply = try await transport.exchange(request, to: address, expectReply: true)
        guard case .pushPull(let remote) = reply else {
            throw GossipError(.protocolViolation, "push-pull answered with \(String(describing: reply))")
        }
        merge(remote)
    }

    private func localState(join: Bool) -> PushPullMessage {
        let nodes = state.withLockedValue { s in
            s.members.values.map {
                PushNodeState(name: $0.name, addr: $0.addr, port: $0.port, meta: $0.meta, incarnation: $0.incarnation,
                              state: $0.state, vsn: $0.vsn)
            }
        }
        return PushPullMessage(join: join, nodes: nodes, userState: delegate.localState(join: join))
    }

    private func merge(_ remote: PushPullMessage) {
        var out = Outbox()
        state.withLockedValue { s in
            for n in remote.nodes {
                switch n.state {
                case .alive:
                    aliveNode(AliveMessage(incarnation: n.incarnation, node: n.name, addr: n.addr, port: n.port, meta: n.meta, vsn: n.vsn),
                              bootstrap: false, &s, &out)
                case .left:
                    deadNode(AccusationMessage(incarnation: n.incarnation, node: n.name, from: n.name), &s, &out)
                case .dead, .suspect:
                    // memberlist: a member others think dead is only suspected here.
                    suspectNode(AccusationMessage(incarnation: n.incarnation, node: n.name, from: name), &s, &out)
                }
            }
        }
        deliver(out)
        if !remote.userState.isEmpty { delegate.mergeRemoteState(remote.userState, join: remote.join) }
    }

    // MARK: Inbound

    private func handlePacket(_ bytes: [UInt8], from: SocketAddress) {
        let messages: [GossipMessage]
        do {
            messages = try GossipWire.decodePacket(bytes, limits: limits)
        } catch {
            logger.debug("dropped a packet", metadata: ["from": "\(from)", "error": "\(error)"])
            return
        }
        var out = Outbox()
        state.withLockedValue { s in
            guard !s.closed else { return }
            for m in messages { handle(m, from: from, &s, &out) }
        }
        deliver(out)
    }

    private func handleStream(_ message: GossipMessage, from: SocketAddress?) -> [UInt8]? {
        switch message {
        case .pushPull(let remote):
            guard !state.withLockedValue({ $0.closed }) else { return nil }
            let reply = try? GossipWire.encode(.pushPull(localState(join: false)))
            merge(remote)
            return reply
        case .ping(let p):
            guard p.node.isEmpty || p.node == name else { return nil }
            return try? GossipWire.encode(.ack(AckMessage(seqNo: p.seqNo)))
        case .user(let payload):
            delegate.notifyMessage(payload)
            return nil
        default:
            return nil
        }
    }

    private func handle(_ message: GossipMessage, from: SocketAddress, _ s: inout State, _ out: inout Outbox) {
        switch message {
        case .ping(let p):
            guard p.node.isEmpty || p.node == name else { return }
            var to = from
            if !p.sourceAddr.isEmpty, p.sourcePort != 0, let a = GossipAddress.socket(p.sourceAddr, p.sourcePort) { to = a }
            let target = p.sourceNode.isEmpty ? nil : s.members[p.sourceNode]
            if let ack = try? GossipWire.encode(.ack(AckMessage(seqNo: p.seqNo))) {
                out.packets.append((packet(ack, for: target, &s), to))
            }
        case .indirectPing(let p):
            guard let target = GossipAddress.socket(p.target, p.port) else { return }
            var requester = from
            if !p.sourceAddr.isEmpty, p.sourcePort != 0, let a = GossipAddress.socket(p.sourceAddr, p.sourcePort) { requester = a }
            s.seq &+= 1
            let local = s.seq
            s.acks[local] = .relay(to: requester, seqNo: p.seqNo)
            let me = s.members[name]
            let ping = PingMessage(seqNo: local, node: p.node, sourceAddr: advertiseAddr, sourcePort: me?.port ?? 0, sourceNode: name)
            if let bytes = try? GossipWire.encode(.ping(ping)) { out.packets.append((bytes, target)) }
            let wantsNack = p.nack
            let originalSeq = p.seqNo
            let replyTo = requester
            loop.scheduleTask(in: Self.amount(configuration.probeTimeout)) { [weak self] in
                guard let self else { return }
                let expired = self.state.withLockedValue { s -> Bool in
                    guard s.acks[local] != nil else { return false }
                    s.acks[local] = nil
                    return true
                }
                if expired, wantsNack, let nack = try? GossipWire.encode(.nack(seqNo: originalSeq)) {
                    self.state.withLockedValue { $0.transport }?.send(nack, to: replyTo)
                }
            }
        case .ack(let a):
            switch s.acks[a.seqNo] {
            case .probe(let waiter): waiter.ack()
            case .relay(let to, let seqNo):
                s.acks[a.seqNo] = nil
                if let bytes = try? GossipWire.encode(.ack(AckMessage(seqNo: seqNo))) { out.packets.append((bytes, to)) }
            case nil: break
            }
        case .nack(let seqNo):
            if case .probe(let waiter) = s.acks[seqNo] { waiter.nack() }
        case .suspect(let m): suspectNode(m, &s, &out)
        case .alive(let m): aliveNode(m, bootstrap: false, &s, &out)
        case .dead(let m): deadNode(m, &s, &out)
        case .user(let payload): out.notes.append(.message(payload))
        case .error(let text): logger.debug("peer reported an error", metadata: ["from": "\(from)", "error": "\(text)"])
        case .pushPull: break
        }
    }

    // MARK: State machine (memberlist state.go)

    private func aliveNode(_ a: AliveMessage, bootstrap: Bool, _ s: inout State, _ out: inout Outbox) {
        let isSelf = a.node == name
        if isSelf, s.leaving { return }
        guard !a.node.isEmpty, a.node.utf8.count <= 512, a.meta.count <= Self.maxMetaSize,
              a.addr.count == 4 || a.addr.count == 16 else { return }
        if a.vsn.count >= 3, a.vsn[1] < 1 || a.vsn[0] > 5 { return }  // speaks no protocol version we do
        let now = NIODeadline.now()
        guard var m = s.members[a.node] else {
            if isSelf && !bootstrap { refute(accused: a.incarnation, &s); return }
            guard s.members.count < Self.maxMembers else { return }
            let m = Member(name: a.node, addr: a.addr, port: a.port, socket: GossipAddress.socket(a.addr, a.port), meta: a.meta,
                           incarnation: a.incarnation, state: .alive, stateChange: now, vsn: a.vsn)
            s.members[a.node] = m
            // Insert at a random place in the probe order, as memberlist does.
            s.probeList.insert(a.node, at: Int.random(in: 0...s.probeList.count))
            enqueue(key: a.node, .alive(a), &s)
            if !isSelf { out.notes.append(.event(.joined(m.publicView))) }
            return
        }
        if isSelf {
            if bootstrap { return }
            // Someone gossips about us: refute anything that is not exactly what we said.
            if a.incarnation < s.incarnation { return }
            if a.incarnation == s.incarnation && a.meta == meta && a.addr == m.addr && a.port == m.port { return }
            refute(accused: a.incarnation, &s)
            return
        }
        let sameAddress = m.addr == a.addr && m.port == a.port
        if !sameAddress && (m.state == .alive || m.state == .suspect) && a.incarnation <= m.incarnation { return }
        guard a.incarnation > m.incarnation || (!sameAddress && (m.state == .dead || m.state == .left)) else { return }
        let wasDown = m.state == .dead || m.state == .left
        let changed = m.meta != a.meta || !sameAddress
        s.suspicions[a.node] = nil
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
        s.members[a.node] = m
        enqueue(key: a.node, .alive(a), &s)
        if wasDown { out.notes.append(.event(.joined(m.publicView))) } else if changed { out.notes.append(.event(.updated(m.publicView))) }
    }

    private func suspectNode(_ a: AccusationMessage, _ s: inout State, _ out: inout Outbox) {
        guard var m = s.members[a.node], a.incarnation >= m.incarnation else { return }
        if m.state == .suspect {
            if var timer = s.suspicions[a.node], timer.confirm(from: a.from) {
                s.suspicions[a.node] = timer
                enqueue(key: a.node, .suspect(a), &s)
            }
            return
        }
        guard m.state == .alive else { return }
        if a.node == name {
            if s.leaving { return }
            refute(accused: a.incarnation, &s)
            s.awareness = min(s.awareness + 1, configuration.awarenessMaxMultiplier - 1)
            logger.debug("refuting a suspicion about this node", metadata: ["from": "\(a.from)"])
            return
        }
        enqueue(key: a.node, .suspect(a), &s)
        m.incarnation = a.incarnation
        m.state = .suspect
        m.stateChange = .now()
        s.members[a.node] = m
        // Lifeguard: expect suspicionMult - 2 independent confirmations, if the cluster has that many.
        let n = s.members.values.filter { $0.state == .alive || $0.state == .suspect }.count
        var k = configuration.suspicionMult - 2
        if n - 2 < k { k = 0 }
        let minTimeout = suspicionTimeout(members: n)
        let maxTimeout = minTimeout * Int64(max(1, configuration.suspicionMaxTimeoutMult))
        s.suspicions[a.node] = GossipSuspicion(from: a.from, k: k, min: minTimeout, max: maxTimeout, now: .now())
        logger.debug("suspecting a member", metadata: ["node": "\(a.node)", "from": "\(a.from)"])
    }

    private func deadNode(_ a: AccusationMessage, _ s: inout State, _ out: inout Outbox) {
        guard var m = s.members[a.node], a.incarnation >= m.incarnation else { return }
        s.suspicions[a.node] = nil
        guard m.state == .alive || m.state == .suspect else { return }
        if a.node == name {
            if !s.leaving {
                refute(accused: a.incarnation, &s)
                return
            }
        }
        enqueue(key: a.node, .dead(a), &s)
        m.incarnation = a.incarnation
        m.state = a.node == a.from ? .left : .dead
        m.stateChange = .now()
        s.members[a.node] = m
        if a.node != name { out.notes.append(.event(.left(m.publicView))) }
        logger.debug("member \(m.state)", metadata: ["node": "\(a.node)", "from": "\(a.from)"])
    }

    private func refute(accused: UInt32, _ s: inout State) {
        var inc = s.incarnation &+ 1
        if accused >= inc { inc = accused &+ 1 }
        s.incarnation = inc
        guard var me = s.members[name] else { return }
        me.incarnation = inc
        s.members[name] = me
        let a = AliveMessage(incarnation: inc, node: name, addr: me.addr, port: me.port, meta: meta, vsn: Self.versions)
        enqueue(key: name, .alive(a), &s)
    }

    private func enqueue(key: String, _ message: GossipMessage, _ s: inout State) {
        guard let bytes = try? GossipWire.encode(message) else { return }
        s.broadcasts.enqueue(key: key, message: bytes)
    }

    /// memberlist's suspicionTimeout: `mult * max(1, log10(max(1, n))) * probeInterval`.
    private func suspicionTimeout(members n: Int) -> TimeAmount {
        let scale = max(1.0, Foundation.log10(Double(max(1, n))))
        let interval = Double(Self.amount(configuration.probeInterval).nanoseconds)
        return .nanoseconds(Int64(Double(configuration.suspicionMult) * scale * interval))
    }

    // MARK: Outbound

    /// `message` with as many queued broadcasts as fit, for `target` (records only for Micro members), checksummed for protocol-5 peers.
    private func packet(_ message: [UInt8], for target: Member?, _ s: inout State) -> [UInt8] {
        let limit = GossipBroadcastQueue.limit(mult: configuration.retransmitMult, members: s.members.count)
        var budget = configuration.packetBudget - message.count - GossipWire.compoundHeaderOverhead - GossipWire.compoundPartOverhead - 5
        var parts = [message]
        let overhead = GossipWire.compoundPartOverhead
        let membership = s.broadcasts.take(budget: budget, overhead: overhead, limit: limit)
        parts += membership
        budget -= membership.reduce(0) { $0 + $1.count + overhead }
        if let target, isMicro(target.meta) {
            parts += s.userBroadcasts.take(budget: budget, overhead: overhead, limit: limit)
        }
        let body = GossipWire.compound(Array(parts.prefix(255)))
        if let target, target.pmax >= 5 { return GossipWire.withChecksum(body) }
        return body
    }

    private func sendPacket(_ bytes: [UInt8], to member: Member) {
        guard let socket = member.socket, let transport = state.withLockedValue({ $0.transport }) else { return }
        transport.send(member.pmax >= 5 ? GossipWire.withChecksum(bytes) : bytes, to: socket)
    }

    private func deliver(_ out: Outbox) {
        if !out.packets.isEmpty, let transport = state.withLockedValue({ $0.transport }) {
            for (bytes, to) in out.packets { transport.send(bytes, to: to) }
        }
        for note in out.notes {
            switch note {
            case .event(let e): delegate.notifyMembership(e)
            case .message(let m): delegate.notifyMessage(m)
            }
        }
    }

    // MARK: Loops

    private var tickInterval: Duration {
        let fifth = configuration.probeInterval / 5
        return fifth < .milliseconds(10) ? .milliseconds(10) : fifth
    }

    private func every(_ interval: Duration, _ body: () -> Void) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            body()
        }
    }

    /// One gossip round: memberlist's broadcasts to `gossipNodes` random members (the recently dead
    /// included, as memberlist does), registrations to `gossipNodes` random live Swift members.
    private func gossip() {
        var sends: [([UInt8], SocketAddress)] = []
        state.withLockedValue { s in
            guard !s.closed, s.broadcasts.count + s.userBroadcasts.count > 0 else { return }
            let now = NIODeadline.now()
            let toTheDead = Self.amount(configuration.gossipToTheDeadTime)
            let fanout = max(1, configuration.gossipNodes)
            let others = s.members.values.filter { $0.name != name && $0.socket != nil }
            let candidates = s.broadcasts.count == 0 ? [] : others.filter { m in
                switch m.state {
                case .alive, .suspect: return true
                case .dead, .left: return now - m.stateChange < toTheDead
                }
            }.shuffled().prefix(fanout)
            // A registration sent to the dead would use up a transmit and reach no one.
            let micro = s.userBroadcasts.count == 0 ? [] : others.filter { m in
                (m.state == .alive || m.state == .suspect) && isMicro(m.meta)
            }.shuffled().prefix(fanout)
            let microNames = Set(micro.map(\.name))
            var targets = Array(candidates)
            for m in micro where !candidates.contains(where: { $0.name == m.name }) { targets.append(m) }
            let limit = GossipBroadcastQueue.limit(mult: configuration.retransmitMult, members: s.members.count)
            let overhead = GossipWire.compoundPartOverhead
            for target in targets {
                var budget = configuration.packetBudget - GossipWire.compoundHeaderOverhead - 5
                var parts: [[UInt8]] = []
                if candidates.contains(where: { $0.name == target.name }) {
                    parts = s.broadcasts.take(budget: budget, overhead: overhead, limit: limit)
                    budget -= parts.reduce(0) { $0 + $1.count + overhead }
                }
                if microNames.contains(target.name) { parts += s.userBroadcasts.take(budget: budget, overhead: overhead, limit: limit) }
                guard !parts.isEmpty, let socket = target.socket else { continue }
                let body = GossipWire.compound(Array(parts.prefix(255)))
                sends.append((target.pmax >= 5 ? GossipWire.withChecksum(body) : body, socket))
            }
        }
        guard !sends.isEmpty, let transport = state.withLockedValue({ $0.transport }) else { return }
        for (bytes, to) in sends { transport.send(bytes, to: to) }
    }

    /// Declares suspects whose time ran out dead, and forgets members dead for longer than gossipToTheDeadTime.
    private func tick() {
        var out = Outbox()
        state.withLockedValue { s in
            guard !s.closed else { return }
            let now = NIODeadline.now()
            for (node, timer) in s.suspicions where timer.deadline <= now {
                s.suspicions[node] = nil
                guard let m = s.members[node], m.state == .suspect else { continue }
                deadNode(AccusationMessage(incarnation: m.incarnation, node: node, from: name), &s, &out)
            }
            let reap = Self.amount(configuration.gossipToTheDeadTime)
            let gone = s.members.values.filter { ($0.state == .dead || $0.state == .left) && $0.name != name && now - $0.stateChange > reap }
            for m in gone {
                s.members[m.name] = nil
                s.probeList.removeAll { $0 == m.name }
            }
        }
        deliver(out)
    }

    private func probeLoop() async {
        while !Task.isCancelled {
            let start = ContinuousClock.now
            await probeOnce()
            let next = start + configuration.probeInterval
            do { try await Task.sleep(until: next) } catch { return }
        }
    }

    /// The next member to probe, round-robin over a shuffled list (skipping this node and the dead).
    private func nextProbeTarget(_ s: inout State) -> Member? {
        for _ in 0..<(s.probeList.count + 1) {
            if s.probeIndex >= s.probeList.count {
                s.probeList = s.probeList.filter { s.members[$0] != nil }.shuffled()
                s.probeIndex = 0
                if s.probeList.isEmpty { return nil }
            }
            let candidate = s.probeList[s.probeIndex]
            s.probeIndex += 1
            if candidate == name { continue }
            if let m = s.members[candidate], m.state == .alive || m.state == .suspect, m.socket != nil { return m }
        }
        return nil
    }

    private func probeOnce() async {
        let waiter = GossipAckWaiter()
        guard let plan = state.withLockedValue({ s -> (target: Member, seq: UInt32, packet: [UInt8], scale: Int)? in
            guard !s.closed, !s.leaving, let target = nextProbeTarget(&s) else { return nil }
            s.seq &+= 1
            let seq = s.seq
            s.acks[seq] = .probe(waiter)
            let me = s.members[name]
            let ping = PingMessage(seqNo: seq, node: target.name, sourceAddr: advertiseAddr, sourcePort: me?.port ?? 0, sourceNode: name)
            guard var bytes = try? GossipWire.encode(.ping(ping)) else { return nil }
            if target.state == .suspect,
               let suspect = try? GossipWire.encode(.suspect(AccusationMessage(incarnation: target.incarnation, node: target.name, from: name))) {
                // Tell the suspect, so it can refute.
                bytes = GossipWire.compound([bytes, suspect])
            }
            return (target, seq, packet(bytes, for: target, &s), s.awareness + 1)
        }) else { return }
        defer { _ = state.withLockedValue { $0.acks.removeValue(forKey: plan.seq) } }
        guard let transport = state.withLockedValue({ $0.transport }), let socket = plan.target.socket else { return }
        transport.send(plan.packet, to: socket)
        let timeout = Self.amount(configuration.probeTimeout) * Int64(plan.scale)
        if await waiter.wait(timeout: timeout, on: loop) {
            adjustAwareness(-1)
            return
        }
        // Indirect: ask k others to ping the target for us.
        let relays = state.withLockedValue { s in
            s.members.values.filter { $0.name != name && $0.name != plan.target.name && $0.state == .alive && $0.socket != nil }
                .shuffled().prefix(max(0, configuration.indirectChecks))
        }
        var expectedNacks = 0
        let me = state.withLockedValue { $0.members[name] }
        for relay in relays {
            let wantsNack = relay.pmax >= 4
            if wantsNack { expectedNacks += 1 }
            let req = IndirectPingMessage(seqNo: plan.seq, target: plan.target.addr, port: plan.target.port, node: plan.target.name,
                                          nack: wantsNack, sourceAddr: advertiseAddr, sourcePort: me?.port ?? 0, sourceNode: name)
            if let bytes = try? GossipWire.encode(.indirectPing(req)) { sendPacket(bytes, to: relay) }
        }
        let rest = Self.amount(configuration.probeInterval) * Int64(plan.scale) - timeout
        // memberlist protocol 3+: also ping over TCP, in case only UDP is lost on the way.
        async let tcpAcked: Bool = plan.target.pmax >= 3 ? tcpPing(plan.target, seq: plan.seq, socket: socket, via: transport, timeout: rest, waiter: waiter) : false
        let acked = await waiter.wait(timeout: rest, on: loop)
        if await tcpAcked, !acked {
            logger.debug("member answered a TCP ping but not UDP probes: the network may be losing UDP", metadata: ["node": "\(plan.target.name)"])
        }
        if acked {
            adjustAwareness(-1)
            return
        }
        guard !state.withLockedValue({ $0.closed || $0.leaving }) else { return }
        let nacks = waiter.nacks
        adjustAwareness(expectedNacks > 0 ? max(0, expectedNacks - nacks) : 1)
        var out = Outbox()
        state.withLockedValue { s in
            guard let m = s.members[plan.target.name] else { return }
            suspectNode(AccusationMessage(incarnation: m.incarnation, node: m.name, from: name), &s, &out)
        }
        deliver(out)
    }

    /// Pings `target` over a TCP stream (memberlist's fallback probe); an ack with `seq` acks the probe.
    private func tcpPing(_ target: Member, seq: UInt32, socket: SocketAddress, via transport: GossipTransport, timeout: TimeAmount,
                         waiter: GossipAckWaiter) async -> Bool {
        guard timeout > .zero else { return false }
        let me = state.withLockedValue { $0.members[name] }
        let ping = PingMessage(seqNo: seq, node: target.name, sourceAddr: advertiseAddr, sourcePort: me?.port ?? 0, sourceNode: name)
        guard let bytes = try? GossipWire.encode(.ping(ping)),
              let reply = try? await transport.exchange(bytes, to: socket, expectReply: true, timeout: timeout),
              case .ack(let ack) = reply, ack.seqNo == seq else { return false }
        waiter.ack()
        return true
    }

    /// Test hook: drop outgoing UDP to addresses `drop` returns true for.
    func dropOutgoingUDP(_ drop: (@Sendable (SocketAddress) -> Bool)?) {
        state.withLockedValue { $0.transport }?.udpFilter.withLockedValue { $0 = drop }
    }

    private func adjustAwareness(_ delta: Int) {
        guard delta != 0 else { return }
        state.withLockedValue { s in
            s.awareness = min(max(0, s.awareness + delta), max(0, configuration.awarenessMaxMultiplier - 1))
        }
    }

    private func pushPullLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.pushPullInterval) } catch { return }
            let target = state.withLockedValue { s in
                s.members.values.filter { $0.name != name && $0.state == .alive && $0.socket != nil }.randomElement()
            }
            guard let target, let socket = target.socket else { continue }
            do { try await pushPull(with: socket, join: false) } catch {
                logger.debug("push-pull failed", metadata: ["with": "\(target.name)", "error": "\(error)"])
            }
        }
    }

    /// Joins again every seed that is not a live member (heals partitions, finds seeds that started later).
    /// The first retries come quickly (100 ms, doubling) so members started together find each other.
    private func joinRetryLoop() async {
        guard !configuration.seeds.isEmpty else { return }
        var wait = Duration.milliseconds(100)
        while !Task.isCancelled {
            do { try await Task.sleep(for: min(wait, configuration.joinRetryInterval)) } catch { return }
            wait = min(wait * 2, configuration.joinRetryInterval)
            let live = state.withLockedValue { s in
                Set(s.members.values.filter { $0.state == .alive || $0.state == .suspect }.map { GossipAddress.hostPort($0.addr, $0.port) })
            }
            let missing = configuration.seeds.filter { seed in
                guard let a = try? GossipAddress.resolve(seed), let ip = a.ipAddress, let packed = GossipAddress.pack(ip), let port = a.port else { return false }
                return !live.contains(GossipAddress.hostPort(packed, UInt16(port)))
            }
            if missing.isEmpty { wait = configuration.joinRetryInterval } else { await join(missing) }
        }
    }

    static func amount(_ d: Duration) -> TimeAmount {
        let (seconds, atto) = d.components
        return .nanoseconds(seconds * 1_000_000_000 + atto / 1_000_000_000)
    }
}
