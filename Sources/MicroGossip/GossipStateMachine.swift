import Foundation
import Logging
import NIOCore

/// hashicorp memberlist's SWIM protocol as a value, with no sockets, tasks or clock: the member
/// table, incarnations, Lifeguard suspicion and awareness, probe targets, broadcast queues.
///
/// Each method takes one input (a decoded message, the current time, a probe's outcome, a join's
/// push-pull state) and returns what to do as ``GossipAction``s; `GossipMemberlist` performs them.
/// Random choices come from a ``GossipRandom`` (seeded in tests). The inbound messages are handled
/// in `GossipStateMachine+Inbound.swift`, the probes in `GossipStateMachine+Probe.swift`, the record
/// sync with Swift members learned through serf agents in `GossipStateMachine+RecordSync.swift`.
struct GossipStateMachine: Sendable {
    /// memberlist's `[pmin, pmax, pcur, dmin, dmax, dcur]`: memberlist 1...5 speaking 2, serf's delegate 2...5 speaking 5.
    static let versions: [UInt8] = [1, 5, 2, 2, 5, 5]
    /// Largest node meta memberlist accepts.
    static let maxMetaSize = 512
    /// Most members remembered (gossip is unauthenticated: a bound on what strangers can make us keep).
    static let maxMembers = 65_536

    /// A sequence number waiting for an ack.
    enum PendingAck: Sendable {
        /// This node's own probe.
        case probe(PendingProbe)
        /// A ping sent for `requester`'s indirect probe `seqNo`; the ack (or a nack) goes back to it.
        case relay(requester: SocketAddress, seqNo: UInt32, wantsNack: Bool)
    }

    /// A probe waiting for its ack.
    struct PendingProbe: Sendable {
        /// The target as it was when the probe started.
        var target: GossipMemberRecord
        var expectedNacks = 0
        var nacks = 0
        var acked = false
    }

    /// What a graceful leave sends: the extra user messages first, then dead-about-itself (twice, a little apart).
    struct Leave: Sendable {
        /// The extra user messages, to every live member.
        var userMessages: [GossipAction]
        /// This node's `dead` about itself, to every live member.
        var dead: [GossipAction]
    }

    let name: String
    let configuration: GossipConfiguration
    /// The IP this node advertises (packed).
    let advertiseAddr: [UInt8]
    let meta: [UInt8]
    /// Whether a member's meta marks it as a Swift Micro gossip node (those get record broadcasts).
    let isMicro: @Sendable ([UInt8]) -> Bool

    // State shared by the extensions in the other files (read it through the queries below).
    var members: [String: GossipMemberRecord] = [:]
    var probeList: [String] = []
    var probeIndex = 0
    var incarnation: UInt32 = 0
    var seq: UInt32 = 0
    var awareness = 0
    var suspicions: [String: GossipSuspicion] = [:]
    var acks: [UInt32: PendingAck] = [:]
    var broadcasts = GossipBroadcastQueue()
    var userBroadcasts = GossipBroadcastQueue()
    var isLeaving = false
    var isClosed = false
    /// Whether an outgoing push-pull with a Swift Micro member has succeeded (so the records converged).
    var recordsSynced = false
    /// Where the record sync under way goes (see `GossipStateMachine+RecordSync.swift`).
    var recordSyncUnderWay: SocketAddress?
    /// When a failed record sync may be tried again.
    var recordSyncRetryAt: NIODeadline?
    var random: GossipRandom

    init(name: String, configuration: GossipConfiguration, advertiseAddr: [UInt8], meta: [UInt8],
         isMicro: @escaping @Sendable ([UInt8]) -> Bool, random: GossipRandom = GossipRandom()) {
        self.name = name
        self.configuration = configuration
        self.advertiseAddr = advertiseAddr
        self.meta = meta
        self.isMicro = isMicro
        self.random = random
    }

    // MARK: Lifecycle

    /// Announces this node alive at incarnation 1, reachable on `port` (once the sockets are bound).
    mutating func start(port: UInt16, now: NIODeadline) -> [GossipAction] {
        incarnation = 1
        var out: [GossipAction] = []
        let me = AliveMessage(incarnation: 1, node: name, addr: advertiseAddr, port: port, meta: meta, vsn: Self.versions)
        aliveNode(me, bootstrap: true, now: now, &out)
        return out
    }

    /// Marks this node left and returns what to send to every live member; nil when already leaving or closed.
    mutating func leave(extraUserMessages: [[UInt8]], now: NIODeadline) -> Leave? {
        guard !isClosed, !isLeaving else { return nil }
        isLeaving = true
        guard let dead = try? GossipWire.encode(.dead(AccusationMessage(incarnation: incarnation, node: name, from: name))) else { return nil }
        if var me = members[name] {
            me.state = .left
            me.stateChange = now
            members[name] = me
        }
        let targets = sortedMembers.filter { $0.name != name && $0.isUp }
        var user: [GossipAction] = []
        for payload in extraUserMessages {
            guard let bytes = try? GossipWire.encode(.user(payload)) else { continue }
            user += targets.compactMap { send(bytes, to: $0) }
        }
        return Leave(userMessages: user, dead: targets.compactMap { send(dead, to: $0) })
    }

    /// Stops handling input; pending probes and relays are forgotten.
    mutating func close() {
        isClosed = true
        acks.removeAll()
    }

    // MARK: Queries

    /// The port this node advertises.
    var advertisedPort: UInt16 { members[name]?.port ?? 0 }

    /// Every member known, this node included, sorted by name.
    var memberList: [GossipMember] { sortedMembers.map(\.publicView) }

    /// The member named `name`.
    func member(_ name: String) -> GossipMember? { members[name]?.publicView }

    /// Every member record, sorted by name (so random choices depend only on the seed).
    var sortedMembers: [GossipMemberRecord] { members.values.sorted { $0.name < $1.name } }

    /// `host:port` of every alive or suspect member (seeds among them need no rejoin).
    var liveAddresses: Set<String> {
        Set(members.values.filter(\.isUp).map { GossipAddress.hostPort($0.addr, $0.port) })
    }

    /// Where every other live Swift Micro member is reached (for user messages too big for a packet).
    var microMemberSockets: [SocketAddress] {
        members.values.filter { $0.name != name && $0.state == .alive && isMicro($0.meta) }.compactMap(\.socket)
    }

    /// A random live member to push-pull with, if any.
    mutating func pushPullTarget() -> GossipMemberRecord? {
        sortedMembers.filter { $0.name != name && $0.state == .alive && $0.socket != nil }.randomElement(using: &random)
    }

    /// Every member in push-pull form.
    var localNodes: [PushNodeState] {
        members.values.map {
            PushNodeState(name: $0.name, addr: $0.addr, port: $0.port, meta: $0.meta, incarnation: $0.incarnation, state: $0.state, vsn: $0.vsn)
        }
    }

    // MARK: Broadcasts and timers

    /// The largest user payload that fits a gossip packet.
    var maxUserPayload: Int { configuration.packetBudget - GossipWire.compoundHeaderOverhead - GossipWire.compoundPartOverhead - 1 - 64 }

    /// Queues a user message for gossip to Swift Micro members under `key` (replacing an older one).
    mutating func enqueueUser(key: String, payload: [UInt8]) {
        guard let bytes = try? GossipWire.encode(.user(payload)) else { return }
        userBroadcasts.enqueue(key: key, message: bytes)
    }

    /// One gossip round: memberlist's broadcasts to `gossipNodes` random members (the recently dead
    /// included, as memberlist does), registrations to `gossipNodes` random live Swift members.
    mutating func gossip(now: NIODeadline) -> [GossipAction] {
        guard !isClosed, broadcasts.count + userBroadcasts.count > 0 else { return [] }
        let toTheDead = TimeAmount(configuration.gossipToTheDeadTime)
        let fanout = max(1, configuration.gossipNodes)
        let others = sortedMembers.filter { $0.name != name && $0.socket != nil }
        let candidates: ArraySlice<GossipMemberRecord> = broadcasts.count == 0 ? [] : others.filter { m in
            switch m.state {
            case .alive, .suspect: return true
            case .dead, .left: return now - m.stateChange < toTheDead
            }
        }.shuffled(using: &random).prefix(fanout)
        // A registration sent to the dead would use up a transmit and reach no one.
        let micro: ArraySlice<GossipMemberRecord> = userBroadcasts.count == 0 ? [] : others.filter { m in
            m.isUp && isMicro(m.meta)
        }.shuffled(using: &random).prefix(fanout)
        let microNames = Set(micro.map(\.name))
        var targets = Array(candidates)
        for m in micro where !candidates.contains(where: { $0.name == m.name }) { targets.append(m) }
        let limit = GossipBroadcastQueue.limit(mult: configuration.retransmitMult, members: members.count)
        let overhead = GossipWire.compoundPartOverhead
        var out: [GossipAction] = []
        for target in targets {
            var budget = configuration.packetBudget - GossipWire.compoundHeaderOverhead - 5
            var parts: [[UInt8]] = []
            if candidates.contains(where: { $0.name == target.name }) {
                parts = broadcasts.take(budget: budget, overhead: overhead, limit: limit)
                budget -= parts.reduce(0) { $0 + $1.count + overhead }
            }
            if microNames.contains(target.name) { parts += userBroadcasts.take(budget: budget, overhead: overhead, limit: limit) }
            guard !parts.isEmpty, let socket = target.socket else { continue }
            let body = GossipWire.compound(Array(parts.prefix(255)))
            out.append(.send(target.pmax >= 5 ? GossipWire.withChecksum(body) : body, to: socket))
        }
        return out
    }

    /// Declares suspects whose time ran out dead, and forgets members dead for longer than gossipToTheDeadTime.
    mutating func tick(now: NIODeadline) -> [GossipAction] {
        guard !isClosed else { return [] }
        var out: [GossipAction] = []
        for (node, timer) in suspicions.sorted(by: { $0.key < $1.key }) where timer.deadline <= now {
            suspicions[node] = nil
            guard let m = members[node], m.state == .suspect else { continue }
            deadNode(AccusationMessage(incarnation: m.incarnation, node: node, from: name), now: now, &out)
        }
        let reap = TimeAmount(configuration.gossipToTheDeadTime)
        let gone = members.values.filter { ($0.state == .dead || $0.state == .left) && $0.name != name && now - $0.stateChange > reap }
        for m in gone {
            members[m.name] = nil
            probeList.removeAll { $0 == m.name }
        }
        return out
    }

    /// Suspects `node` as if a probe of it failed (for tests of refutation).
    mutating func accuse(_ node: String, now: NIODeadline) -> [GossipAction] {
        guard let m = members[node] else { return [] }
        var out: [GossipAction] = []
        suspectNode(AccusationMessage(incarnation: m.incarnation, node: node, from: name), now: now, &out)
        return out
    }

    // MARK: Outbound helpers

    /// `message` with as many queued broadcasts as fit, for `target` (records only for Micro members), checksummed for protocol-5 peers.
    mutating func packet(_ message: [UInt8], for target: GossipMemberRecord?) -> [UInt8] {
        let limit = GossipBroadcastQueue.limit(mult: configuration.retransmitMult, members: members.count)
        var budget = configuration.packetBudget - message.count - GossipWire.compoundHeaderOverhead - GossipWire.compoundPartOverhead - 5
        var parts = [message]
        let overhead = GossipWire.compoundPartOverhead
        let membership = broadcasts.take(budget: budget, overhead: overhead, limit: limit)
        parts += membership
        budget -= membership.reduce(0) { $0 + $1.count + overhead }
        if let target, isMicro(target.meta) {
            parts += userBroadcasts.take(budget: budget, overhead: overhead, limit: limit)
        }
        let body = GossipWire.compound(Array(parts.prefix(255)))
        if let target, target.pmax >= 5 { return GossipWire.withChecksum(body) }
        return body
    }

    /// Sending `bytes` alone to `member` (checksummed for protocol-5 peers); nil without an address.
    func send(_ bytes: [UInt8], to member: GossipMemberRecord) -> GossipAction? {
        guard let socket = member.socket else { return nil }
        return .send(member.pmax >= 5 ? GossipWire.withChecksum(bytes) : bytes, to: socket)
    }

    /// Queues a membership broadcast under `key`.
    mutating func enqueue(key: String, _ message: GossipMessage) {
        guard let bytes = try? GossipWire.encode(message) else { return }
        broadcasts.enqueue(key: key, message: bytes)
    }

    /// memberlist's suspicionTimeout: `mult * max(1, log10(max(1, n))) * probeInterval`.
    func suspicionTimeout(members n: Int) -> TimeAmount {
        let scale = max(1.0, Foundation.log10(Double(max(1, n))))
        let interval = Double(TimeAmount(configuration.probeInterval).nanoseconds)
        return .nanoseconds(Int64(Double(configuration.suspicionMult) * scale * interval))
    }
}
