@testable import MicroGossip
import NIOCore
import Testing

/// The SWIM state machine alone: no sockets, no clock (time is passed in), seeded randomness.
@Suite struct GossipStateMachineTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    static let microMeta = SerfTags.encode([GossipRegistry.markerTag.key: GossipRegistry.markerTag.value])

    /// Member `name` (port 8000 + i for "b", "c", ... ), as its alive message says.
    static func alive(_ name: String, incarnation: UInt32 = 1, port: UInt16? = nil, meta: [UInt8] = microMeta) -> AliveMessage {
        AliveMessage(incarnation: incarnation, node: name, addr: [127, 0, 0, 1], port: port ?? self.port(name), meta: meta,
                     vsn: GossipStateMachine.versions)
    }

    static func port(_ name: String) -> UInt16 { 8000 + UInt16(name.utf8.first ?? 0) - 97 }

    static func socket(_ name: String) throws -> SocketAddress { try SocketAddress(ipAddress: "127.0.0.1", port: Int(port(name))) }

    /// Node `a` (memberlist's default timings), started at t0 and knowing `others`.
    static func machine(_ others: [String] = [], seed: UInt64 = 1) throws -> GossipStateMachine {
        var m = GossipStateMachine(name: "a", configuration: GossipConfiguration(), advertiseAddr: [127, 0, 0, 1], meta: microMeta,
                                   isMicro: { SerfTags.decode($0)["micro"] == "gossip" }, random: GossipRandom(seed: seed))
        _ = m.start(port: port("a"), now: t0)
        for name in others {
            let actions = m.receive([.alive(alive(name))], from: try socket(name), now: t0)
            #expect(actions == [.notify(.joined(m.member(name)!))])
        }
        return m
    }

    /// The messages of every packet `actions` send to `to` (nil: to anyone).
    static func sent(_ actions: [GossipAction], to: SocketAddress? = nil) -> [GossipMessage] {
        actions.flatMap { action -> [GossipMessage] in
            guard case .send(let bytes, let address) = action, to == nil || address == to else { return [] }
            return (try? GossipWire.decodePacket(bytes)) ?? []
        }
    }

    static func events(_ actions: [GossipAction]) -> [GossipMemberEvent] {
        actions.compactMap { if case .notify(let e) = $0 { e } else { nil } }
    }

    static func isLog(_ action: GossipAction) -> Bool {
        if case .log = action { true } else { false }
    }

    // MARK: Probes

    @Test func anAckedProbeKeepsTheTargetAliveAndLowersAwareness() throws {
        var m = try Self.machine(["b"])
        // A refuted suspicion about this node raises awareness to 1, which stretches the probe.
        _ = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "a", from: "b"))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.awareness == 1)
        let started = m.startProbe(now: Self.t0)
        let probe = try #require(started)
        #expect(probe.target == "b")
        #expect(probe.socket == (try Self.socket("b")))
        #expect(probe.timeout == .milliseconds(1000) && probe.indirectTimeout == .milliseconds(1000))
        #expect(probe.tcpPing != nil)
        let ping = try GossipWire.decodePacket(probe.packet)
        #expect(ping.contains(.ping(PingMessage(seqNo: probe.seqNo, node: "b", sourceAddr: [127, 0, 0, 1], sourcePort: Self.port("a"), sourceNode: "a"))))
        // The ack wakes the probe; the probe then ends acked.
        let actions = m.receive([.ack(AckMessage(seqNo: probe.seqNo))], from: try Self.socket("b"), now: Self.t0)
        #expect(actions == [.ackProbe(seqNo: probe.seqNo)])
        #expect(m.probeEnded(seqNo: probe.seqNo, acked: false, now: Self.t0 + .milliseconds(10)).isEmpty)
        #expect(m.awareness == 0)
        #expect(m.member("b")?.state == .alive)
        #expect(m.suspicions.isEmpty)
        // The ack is consumed: another one for the same probe does nothing.
        #expect(m.receive([.ack(AckMessage(seqNo: probe.seqNo))], from: try Self.socket("b"), now: Self.t0).isEmpty)
    }

    @Test func aProbeThatTimesOutGoesIndirectThenSuspectsThenDeclaresDead() throws {
        var m = try Self.machine(["b", "c", "d", "e"])
        let started = m.startProbe(now: Self.t0)
        let probe = try #require(started)
        let target = probe.target
        let relays = ["b", "c", "d", "e"].filter { $0 != target }
        #expect(probe.timeout == .milliseconds(500) && probe.indirectTimeout == .milliseconds(500))
        // No ack within probeTimeout: ask the three others (they speak protocol 5, so they nack).
        let indirect = m.probeTimedOut(seqNo: probe.seqNo)
        #expect(indirect.count == 3)
        for relay in relays {
            let expected = IndirectPingMessage(seqNo: probe.seqNo, target: [127, 0, 0, 1], port: Self.port(target), node: target, nack: true,
                                               sourceAddr: [127, 0, 0, 1], sourcePort: Self.port("a"), sourceNode: "a")
            #expect(Self.sent(indirect, to: try Self.socket(relay)) == [.indirectPing(expected)])
        }
        // One relay reached us but not the target.
        #expect(m.receive([.nack(seqNo: probe.seqNo)], from: try Self.socket(relays[0]), now: Self.t0).isEmpty)
        let suspectedAt = Self.t0 + .seconds(1)
        let ended = m.probeEnded(seqNo: probe.seqNo, acked: false, now: suspectedAt)
        #expect(m.member(target)?.state == .suspect)
        #expect(Self.events(ended).isEmpty)
        // Lifeguard: two of three expected nacks missing raise awareness by two.
        #expect(m.awareness == 2)
        // The next probe of the suspect tells it, so it can refute.
        var next: GossipProbe?
        for _ in 0..<8 where next?.target != target {
            next = m.startProbe(now: suspectedAt)
            if let next { _ = m.probeEnded(seqNo: next.seqNo, acked: true, now: suspectedAt) }
        }
        let tellSuspect = try GossipWire.decodePacket(try #require(next).packet)
        #expect(tellSuspect.contains(.suspect(AccusationMessage(incarnation: 1, node: target, from: "a"))))
        // Five members: suspicion lasts 4 s (4 × probe interval) to 24 s (× 6) with no confirmation.
        #expect(Self.events(m.tick(now: suspectedAt + .seconds(23))).isEmpty)
        #expect(m.member(target)?.state == .suspect)
        let dead = m.tick(now: suspectedAt + .seconds(24))
        #expect(m.member(target)?.state == .dead)
        #expect(Self.events(dead) == [.left(m.member(target)!)])
        // Gossip now carries the death to the others.
        let gossip = m.gossip(now: suspectedAt + .seconds(24))
        #expect(Self.sent(gossip).contains(.dead(AccusationMessage(incarnation: 1, node: target, from: "a"))))
    }

    @Test func lifeguardConfirmationsShortenTheSuspicion() throws {
        var m = try Self.machine(["b", "c", "d", "e"])
        _ = m.accuse("b", now: Self.t0)
        #expect(m.member("b")?.state == .suspect)
        #expect(m.suspicions["b"]?.deadline == Self.t0 + .seconds(24))
        // The accuser itself and repeats are no confirmation.
        _ = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "b", from: "a"))], from: try Self.socket("c"), now: Self.t0)
        #expect(m.suspicions["b"]?.confirmations == 0)
        _ = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "b", from: "c"))], from: try Self.socket("c"), now: Self.t0)
        _ = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "b", from: "c"))], from: try Self.socket("c"), now: Self.t0)
        #expect(m.suspicions["b"]?.confirmations == 1)
        // One of k = 2 confirmations: 24 s − 20 s × log 2 / log 3 ≈ 11.4 s.
        let deadline = try #require(m.suspicions["b"]?.deadline)
        #expect(deadline > Self.t0 + .milliseconds(11_300) && deadline < Self.t0 + .milliseconds(11_500))
        #expect(Self.events(m.tick(now: Self.t0 + .seconds(11))).isEmpty)
        // The second brings it down to the minimum, 4 s, already past.
        _ = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "b", from: "d"))], from: try Self.socket("d"), now: Self.t0)
        #expect(m.suspicions["b"]?.deadline == Self.t0 + .seconds(4))
        let actions = m.tick(now: Self.t0 + .seconds(11))
        #expect(Self.events(actions) == [.left(m.member("b")!)])
        #expect(m.member("b")?.state == .dead)
    }

    @Test func aSmallClusterExpectsNoConfirmations() throws {
        var m = try Self.machine(["b", "c"])
        _ = m.accuse("b", now: Self.t0)
        // Three members: k = 0, so the shortest timeout (4 s) applies at once.
        #expect(m.suspicions["b"]?.k == 0)
        #expect(m.suspicions["b"]?.deadline == Self.t0 + .seconds(4))
    }

    // MARK: Incarnations

    @Test func aSuspicionAboutThisNodeIsRefutedWithAHigherIncarnation() throws {
        var m = try Self.machine(["b"])
        #expect(m.incarnation == 1)
        let actions = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "a", from: "b"))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.incarnation == 2)
        #expect(m.member("a")?.state == .alive && m.member("a")?.incarnation == 2)
        #expect(actions.contains(where: Self.isLog))
        // The refutation is gossiped.
        let refutation = Self.sent(m.gossip(now: Self.t0), to: try Self.socket("b"))
        #expect(refutation.contains(.alive(AliveMessage(incarnation: 2, node: "a", addr: [127, 0, 0, 1], port: Self.port("a"),
                                                        meta: Self.microMeta, vsn: GossipStateMachine.versions))))
        // An accusation at a later incarnation is outbid; so is a death, and an alive that is not what we said.
        _ = m.receive([.dead(AccusationMessage(incarnation: 5, node: "a", from: "b"))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.incarnation == 6 && m.member("a")?.state == .alive)
        _ = m.receive([.alive(Self.alive("a", incarnation: 6, port: 9999))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.incarnation == 7 && m.member("a")?.address == "127.0.0.1:\(Self.port("a"))")
        // What we said ourselves needs no refutation.
        _ = m.receive([.alive(Self.alive("a", incarnation: 7))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.incarnation == 7)
    }

    @Test func aSuspectRefutesWithAHigherIncarnationAndIsAliveAgain() throws {
        var m = try Self.machine(["b", "c", "d"])
        _ = m.accuse("b", now: Self.t0)
        #expect(m.member("b")?.state == .suspect)
        // The same incarnation does not clear the suspicion; a higher one does.
        #expect(m.receive([.alive(Self.alive("b"))], from: try Self.socket("b"), now: Self.t0).isEmpty)
        #expect(m.member("b")?.state == .suspect)
        let actions = m.receive([.alive(Self.alive("b", incarnation: 2))], from: try Self.socket("b"), now: Self.t0 + .seconds(1))
        #expect(Self.events(actions).isEmpty)  // same address and meta: nothing to report
        #expect(m.member("b")?.state == .alive && m.member("b")?.incarnation == 2)
        #expect(m.suspicions["b"] == nil)
        #expect(Self.events(m.tick(now: Self.t0 + .seconds(60))).isEmpty)
        #expect(m.member("b")?.state == .alive)
    }

    @Test func anAliveWithAnOlderIncarnationIsIgnored() throws {
        var m = try Self.machine()
        _ = m.receive([.alive(Self.alive("b", incarnation: 5))], from: try Self.socket("b"), now: Self.t0)
        let older = Self.alive("b", incarnation: 3, meta: SerfTags.encode(["role": "old"]))
        #expect(m.receive([.alive(older)], from: try Self.socket("b"), now: Self.t0).isEmpty)
        let sameButNewMeta = Self.alive("b", incarnation: 5, meta: SerfTags.encode(["role": "same"]))
        #expect(m.receive([.alive(sameButNewMeta)], from: try Self.socket("b"), now: Self.t0).isEmpty)
        let moved = Self.alive("b", incarnation: 5, port: 9999)
        #expect(m.receive([.alive(moved)], from: try Self.socket("b"), now: Self.t0).isEmpty)
        #expect(m.member("b")?.incarnation == 5 && m.member("b")?.tags == ["micro": "gossip"])
        #expect(m.member("b")?.address == "127.0.0.1:\(Self.port("b"))")
        // Older accusations are ignored too.
        _ = m.receive([.suspect(AccusationMessage(incarnation: 4, node: "b", from: "c")),
                       .dead(AccusationMessage(incarnation: 4, node: "b", from: "c"))], from: try Self.socket("c"), now: Self.t0)
        #expect(m.member("b")?.state == .alive)
        // A newer incarnation with new meta is an update.
        let newer = Self.alive("b", incarnation: 6, meta: SerfTags.encode(["role": "new"]))
        let actions = m.receive([.alive(newer)], from: try Self.socket("b"), now: Self.t0)
        #expect(Self.events(actions) == [.updated(m.member("b")!)])
        #expect(m.member("b")?.tags == ["role": "new"])
    }

    // MARK: Joins and leaves

    @Test func aDeadMemberRejoins() throws {
        var m = try Self.machine(["b", "c"])
        let died = m.receive([.dead(AccusationMessage(incarnation: 1, node: "b", from: "c"))], from: try Self.socket("c"), now: Self.t0)
        #expect(Self.events(died) == [.left(m.member("b")!)])
        #expect(m.member("b")?.state == .dead)
        // Back with a higher incarnation: joined again.
        let back = m.receive([.alive(Self.alive("b", incarnation: 2))], from: try Self.socket("b"), now: Self.t0 + .seconds(1))
        #expect(Self.events(back) == [.joined(m.member("b")!)])
        #expect(m.member("b")?.state == .alive)
        // Restarted on another port at the same incarnation, after dying again: joined there.
        _ = m.receive([.dead(AccusationMessage(incarnation: 2, node: "b", from: "c"))], from: try Self.socket("c"), now: Self.t0 + .seconds(2))
        let restarted = m.receive([.alive(Self.alive("b", incarnation: 2, port: 9100))], from: try Self.socket("c"), now: Self.t0 + .seconds(3))
        #expect(Self.events(restarted) == [.joined(m.member("b")!)])
        #expect(m.member("b")?.address == "127.0.0.1:9100")
    }

    @Test func aLeftMemberIsForgottenAfterGossipToTheDeadTimeAndCanJoinAfresh() throws {
        var m = try Self.machine(["b", "c"])
        let left = m.receive([.dead(AccusationMessage(incarnation: 1, node: "b", from: "b"))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.member("b")?.state == .left)
        #expect(Self.events(left) == [.left(m.member("b")!)])
        // Still gossiped to while it may refute, then forgotten after 30 s.
        _ = m.tick(now: Self.t0 + .seconds(30))
        #expect(m.member("b") != nil)
        _ = m.tick(now: Self.t0 + .seconds(31))
        #expect(m.member("b") == nil)
        let joined = m.receive([.alive(Self.alive("b"))], from: try Self.socket("b"), now: Self.t0 + .seconds(32))
        #expect(Self.events(joined) == [.joined(m.member("b")!)])
    }

    @Test func leavingTellsEveryLiveMemberOnce() throws {
        var m = try Self.machine(["b", "c"])
        _ = m.receive([.dead(AccusationMessage(incarnation: 1, node: "c", from: "b"))], from: try Self.socket("b"), now: Self.t0)
        let leaving = m.leave(extraUserMessages: [[1, 2, 3]], now: Self.t0)
        let leave = try #require(leaving)
        #expect(Self.sent(leave.userMessages) == [.user([1, 2, 3])])
        #expect(Self.sent(leave.dead, to: try Self.socket("b")) == [.dead(AccusationMessage(incarnation: 1, node: "a", from: "a"))])
        #expect(leave.dead.count == 1)   // the dead member c is not told
        #expect(m.member("a")?.state == .left)
        #expect(m.leave(extraUserMessages: [], now: Self.t0) == nil)
        // A leaving node neither probes nor refutes.
        #expect(m.startProbe(now: Self.t0) == nil)
        _ = m.receive([.suspect(AccusationMessage(incarnation: 1, node: "a", from: "b"))], from: try Self.socket("b"), now: Self.t0)
        #expect(m.incarnation == 1)
    }

    // MARK: Push-pull

    @Test func pushPullMergesTheRemoteMembersAndHandsOverItsUserState() throws {
        var m = try Self.machine(["b", "c"])
        func node(_ name: String, _ state: GossipMemberState, incarnation: UInt32 = 1) -> PushNodeState {
            let a = Self.alive(name, incarnation: incarnation)
            return PushNodeState(name: name, addr: a.addr, port: a.port, meta: a.meta, incarnation: incarnation, state: state, vsn: a.vsn)
        }
        let remote = PushPullMessage(join: true, nodes: [
            node("a", .alive), node("b", .left), node("c", .dead), node("d", .alive, incarnation: 3), node("e", .suspect),
        ], userState: [7, 8, 9])
        let (reply, actions) = m.receiveStream(.pushPull(remote), now: Self.t0)
        // The answer is the state before the merge.
        guard case .localState(let nodes) = reply else { Issue.record("no push-pull reply: \(String(describing: reply))"); return }
        #expect(Set(nodes.map(\.name)) == ["a", "b", "c"])
        #expect(nodes.allSatisfy { $0.state == .alive })
        #expect(m.member("b")?.state == .left)
        #expect(m.member("c")?.state == .suspect)   // dead elsewhere is only suspected here
        #expect(m.member("d")?.state == .alive && m.member("d")?.incarnation == 3)
        #expect(m.member("e") == nil)               // unknown and not alive: nothing to learn
        #expect(m.member("a")?.incarnation == 1)    // what we said about ourselves
        #expect(Self.events(actions) == [.left(m.member("b")!), .joined(m.member("d")!)])
        #expect(actions.last == .mergeRemoteState([7, 8, 9], join: true))
        // A client-side merge (a join's answer) works the same way.
        let joinAnswer = m.merge(PushPullMessage(join: false, nodes: [node("f", .alive)], userState: []), now: Self.t0)
        #expect(joinAnswer == [.notify(.joined(m.member("f")!))])
    }

    @Test func aNodeWhoseSeedIsASerfAgentSyncsRecordsWithTheFirstSwiftMemberItLearnsOf() throws {
        var m = try Self.machine()
        let serfMeta = SerfTags.encode(["role": "agent"])
        func node(_ name: String, meta: [UInt8] = Self.microMeta) -> PushNodeState {
            let a = Self.alive(name, meta: meta)
            return PushNodeState(name: name, addr: a.addr, port: a.port, meta: a.meta, incarnation: 1, state: .alive, vsn: a.vsn)
        }
        // Alone: no Swift member to sync with.
        #expect(m.recordSyncTarget(now: Self.t0) == nil)
        // The join's push-pull with the serf agent "s" teaches of nothing else; serf carries no records.
        _ = m.merge(PushPullMessage(join: true, nodes: [node("s", meta: serfMeta)], userState: []), now: Self.t0)
        m.pushPullEnded(with: try Self.socket("s"), succeeded: true, now: Self.t0)
        #expect(!m.recordsSynced)
        #expect(m.recordSyncTarget(now: Self.t0) == nil)
        // The agent tells of Swift member "b" (a join answer, or gossip): sync with it, one exchange at a time.
        _ = m.merge(PushPullMessage(join: false, nodes: [node("s", meta: serfMeta), node("b")], userState: []), now: Self.t0)
        #expect(m.recordSyncTarget(now: Self.t0)?.name == "b")
        #expect(m.recordSyncTarget(now: Self.t0) == nil)
        // It failed: tried again (with any Swift member) a probe interval later, not before.
        m.pushPullEnded(with: try Self.socket("b"), succeeded: false, now: Self.t0)
        #expect(m.recordSyncTarget(now: Self.t0 + .milliseconds(999)) == nil)
        let retry = m.recordSyncTarget(now: Self.t0 + .seconds(1))
        #expect(retry?.name == "b")
        // It succeeded: synced for good, even as more Swift members appear.
        m.pushPullEnded(with: try Self.socket("b"), succeeded: true, now: Self.t0 + .seconds(1))
        #expect(m.recordsSynced)
        _ = m.receive([.alive(Self.alive("c"))], from: try Self.socket("c"), now: Self.t0 + .seconds(1))
        #expect(m.recordSyncTarget(now: Self.t0 + .seconds(2)) == nil)
    }

    @Test func aNodeWhoseSeedIsASwiftMemberNeedsNoRecordSync() throws {
        var m = try Self.machine()
        let b = Self.alive("b")
        let join = PushPullMessage(join: true, nodes: [
            PushNodeState(name: "b", addr: b.addr, port: b.port, meta: b.meta, incarnation: 1, state: .alive, vsn: b.vsn),
            PushNodeState(name: "c", addr: b.addr, port: Self.port("c"), meta: b.meta, incarnation: 1, state: .alive, vsn: b.vsn),
        ], userState: [])
        _ = m.merge(join, now: Self.t0)
        // The join's exchange with Swift seed "b" brought its records already (a periodic one with a Swift member does too).
        m.pushPullEnded(with: try Self.socket("b"), succeeded: true, now: Self.t0)
        #expect(m.recordsSynced)
        #expect(m.recordSyncTarget(now: Self.t0) == nil)
        // A record sync is never asked of a closed node either.
        var closed = try Self.machine(["b"])
        closed.close()
        #expect(closed.recordSyncTarget(now: Self.t0) == nil)
    }

    // MARK: Relaying and answering

    @Test func pingsAreAnsweredAtTheirSourceAddress() throws {
        var m = try Self.machine(["b"])
        let ping = PingMessage(seqNo: 5, node: "a", sourceAddr: [127, 0, 0, 1], sourcePort: Self.port("b"), sourceNode: "b")
        let actions = m.receive([.ping(ping)], from: try SocketAddress(ipAddress: "127.0.0.1", port: 1), now: Self.t0)
        #expect(Self.sent(actions, to: try Self.socket("b")).first == .ack(AckMessage(seqNo: 5)))
        // A ping meant for another node (a reused address) is not answered.
        #expect(m.receive([.ping(PingMessage(seqNo: 6, node: "zz"))], from: try Self.socket("b"), now: Self.t0).isEmpty)
        // Over TCP too.
        let (reply, _) = m.receiveStream(.ping(PingMessage(seqNo: 7, node: "a")), now: Self.t0)
        #expect(reply == .bytes(try GossipWire.encode(.ack(AckMessage(seqNo: 7)))))
    }

    @Test func indirectPingsAreRelayedAndNackedAtTheTimeout() throws {
        var m = try Self.machine(["b", "c"])
        let request = IndirectPingMessage(seqNo: 77, target: [127, 0, 0, 1], port: Self.port("b"), node: "b", nack: true,
                                          sourceAddr: [127, 0, 0, 1], sourcePort: Self.port("c"), sourceNode: "c")
        let relayed = m.receive([.indirectPing(request)], from: try Self.socket("c"), now: Self.t0)
        guard case .ping(let ping)? = Self.sent(relayed, to: try Self.socket("b")).first else { Issue.record("no ping relayed"); return }
        #expect(ping.node == "b" && ping.sourceNode == "a")
        #expect(relayed.contains(.armRelayTimeout(seqNo: ping.seqNo, after: .milliseconds(500))))
        // The target answers: the ack goes back to the requester under its sequence number.
        let answered = m.receive([.ack(AckMessage(seqNo: ping.seqNo))], from: try Self.socket("b"), now: Self.t0)
        #expect(Self.sent(answered, to: try Self.socket("c")) == [.ack(AckMessage(seqNo: 77))])
        #expect(m.relayTimedOut(seqNo: ping.seqNo).isEmpty)
        // No answer: a nack at the timeout, once.
        let again = m.receive([.indirectPing(request)], from: try Self.socket("c"), now: Self.t0)
        guard case .ping(let second)? = Self.sent(again, to: try Self.socket("b")).first else { Issue.record("no ping relayed"); return }
        #expect(Self.sent(m.relayTimedOut(seqNo: second.seqNo), to: try Self.socket("c")) == [.nack(seqNo: 77)])
        #expect(m.relayTimedOut(seqNo: second.seqNo).isEmpty)
    }

    @Test func userMessagesAreDeliveredAndGossipedOnlyToMicroMembers() throws {
        var m = try Self.machine(["b"])
        _ = m.receive([.alive(Self.alive("s", meta: SerfTags.encode(["role": "serf"])))], from: try Self.socket("s"), now: Self.t0)
        #expect(m.receive([.user([1, 2])], from: try Self.socket("b"), now: Self.t0) == [.deliver([1, 2])])
        #expect(m.receiveStream(.user([3]), now: Self.t0).actions == [.deliver([3])])
        m.enqueueUser(key: "k", payload: [4, 5])
        let round = m.gossip(now: Self.t0)
        #expect(Self.sent(round, to: try Self.socket("b")).contains(.user([4, 5])))
        #expect(!Self.sent(round, to: try Self.socket("s")).contains(.user([4, 5])))
    }

    // MARK: Bad input and determinism

    @Test func malformedAndUnexpectedInputIsIgnored() throws {
        var m = try Self.machine(["b"])
        let from = try Self.socket("b")
        var bad = Self.alive("x")
        bad.addr = [1, 2, 3]
        var noName = Self.alive("x")
        noName.node = ""
        var bigMeta = Self.alive("x")
        bigMeta.meta = Array(repeating: 1, count: GossipStateMachine.maxMetaSize + 1)
        var future = Self.alive("x")
        future.vsn = [6, 7, 6, 2, 5, 5]
        let longName = Self.alive(String(repeating: "x", count: 600))
        let odd: [GossipMessage] = [
            .alive(bad), .alive(noName), .alive(bigMeta), .alive(future), .alive(longName),
            .ack(AckMessage(seqNo: 999)), .nack(seqNo: 999),
            .suspect(AccusationMessage(incarnation: 1, node: "nobody", from: "b")),
            .dead(AccusationMessage(incarnation: 1, node: "nobody", from: "b")),
            .indirectPing(IndirectPingMessage(seqNo: 1, target: [1, 2, 3, 4, 5], port: 1, node: "b", nack: true)),
            .pushPull(PushPullMessage(join: true, nodes: [], userState: [1])),
        ]
        #expect(m.receive(odd, from: from, now: Self.t0).isEmpty)
        #expect(m.memberList.map(\.name) == ["a", "b"])
        let error = m.receive([.error("boom")], from: from, now: Self.t0)
        #expect(error.count == 1 && error.allSatisfy(Self.isLog))
        #expect(m.probeTimedOut(seqNo: 12345).isEmpty)
        #expect(m.probeEnded(seqNo: 12345, acked: false, now: Self.t0).isEmpty)
        #expect(m.relayTimedOut(seqNo: 12345).isEmpty)
        #expect(m.accuse("nobody", now: Self.t0).isEmpty)
        #expect(m.receiveStream(.nack(seqNo: 1), now: Self.t0).reply == nil)
        // After close, nothing is handled.
        m.close()
        #expect(m.receive([.alive(Self.alive("z"))], from: from, now: Self.t0).isEmpty)
        #expect(m.startProbe(now: Self.t0) == nil)
        #expect(m.tick(now: Self.t0 + .seconds(100)).isEmpty)
    }

    @Test func randomPacketsAndMessagesNeverBreakTheInvariants() throws {
        var m = try Self.machine(["b", "c"])
        var random = GossipRandom(seed: 42)
        let from = try Self.socket("b")
        let names = ["a", "b", "c", "d", "e"]
        var now = Self.t0
        for i in 0..<3000 {
            now = now + .milliseconds(Int64.random(in: 0...300, using: &random))
            // Random bytes, sometimes after a valid type byte: whatever decodes goes in.
            var bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if !bytes.isEmpty, Bool.random(using: &random) { bytes[0] = UInt8.random(in: 0...13, using: &random) }
            if let messages = try? GossipWire.decodePacket(bytes) { _ = m.receive(messages, from: from, now: now) }
            // Random well-formed messages about random members.
            let node = names.randomElement(using: &random)!
            let incarnation = UInt32.random(in: 0...6, using: &random)
            let message: GossipMessage = switch Int.random(in: 0...6, using: &random) {
            case 0: .alive(Self.alive(node, incarnation: incarnation, port: UInt16.random(in: 8000...8002, using: &random)))
            case 1: .suspect(AccusationMessage(incarnation: incarnation, node: node, from: names.randomElement(using: &random)!))
            case 2: .dead(AccusationMessage(incarnation: incarnation, node: node, from: names.randomElement(using: &random)!))
            case 3: .ack(AckMessage(seqNo: UInt32.random(in: 0...20, using: &random)))
            case 4: .nack(seqNo: UInt32.random(in: 0...20, using: &random))
            case 5: .ping(PingMessage(seqNo: UInt32(i), node: node))
            default: .indirectPing(IndirectPingMessage(seqNo: UInt32(i), target: [127, 0, 0, 1], port: 8001, node: node, nack: true))
            }
            _ = m.receive([message], from: from, now: now)
            if let probe = m.startProbe(now: now) {
                _ = m.probeTimedOut(seqNo: probe.seqNo)
                _ = m.probeEnded(seqNo: probe.seqNo, acked: Bool.random(using: &random), now: now)
            }
            _ = m.gossip(now: now)
            _ = m.tick(now: now)
            #expect(m.member("a")?.state == .alive)
            #expect((0..<8).contains(m.awareness))
            #expect(Set(m.memberList.map(\.name)).isSubset(of: Set(names)))
        }
    }

    @Test func theSameSeedMakesTheSameChoices() throws {
        func probeOrder(seed: UInt64) throws -> [String] {
            var m = try Self.machine(["b", "c", "d", "e", "f", "g"], seed: seed)
            return (0..<18).compactMap { _ in
                guard let p = m.startProbe(now: Self.t0) else { return nil }
                _ = m.probeEnded(seqNo: p.seqNo, acked: true, now: Self.t0)
                return p.target
            }
        }
        let order = try probeOrder(seed: 7)
        #expect(order == (try probeOrder(seed: 7)))
        // Round-robin: every member once per round of six.
        for round in 0..<3 { #expect(Set(order[round * 6..<(round + 1) * 6]) == ["b", "c", "d", "e", "f", "g"]) }
    }
}
