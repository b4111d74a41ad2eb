import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The I/O of one SWIM member speaking hashicorp memberlist's protocol: the sockets, the probe,
/// gossip, suspicion, push-pull and join-retry loops, and the timers. Every decision is made by a
/// ``GossipStateMachine`` under one lock; the sends, delegate calls and timers it asks for happen
/// after the lock is released.
final class GossipMemberlist: Sendable {
    private struct State: Sendable {
        var machine: GossipStateMachine
        var transport: GossipTransport?
        /// The probes waiting for an ack, by sequence number.
        var waiters: [UInt32: GossipAckWaiter] = [:]
    }

    let name: String
    let configuration: GossipConfiguration
    private let delegate: any GossipDelegate
    private let logger: Logger
    private let limits = GossipWire.Limits()
    private let state: NIOLockedValueBox<State>
    private let loop: any EventLoop

    init(name: String, configuration: GossipConfiguration, advertiseAddr: [UInt8], meta: [UInt8],
         isMicro: @escaping @Sendable ([UInt8]) -> Bool, delegate: any GossipDelegate, logger: Logger) {
        self.name = name
        self.configuration = configuration
        self.delegate = delegate
        self.logger = logger
        self.loop = MultiThreadedEventLoopGroup.singleton.next()
        let machine = GossipStateMachine(name: name, configuration: configuration, advertiseAddr: advertiseAddr, meta: meta, isMicro: isMicro)
        self.state = NIOLockedValueBox(State(machine: machine))
    }

    // MARK: Lifecycle

    /// Binds the sockets and announces this node alive; returns the bound port.
    func start() async throws -> Int {
        let transport = try await GossipTransport.bind(
            host: configuration.bindHost, port: configuration.bindPort, limits: limits,
            tcpTimeout: TimeAmount(configuration.tcpTimeout),
            onPacket: { [weak self] bytes, from in self?.handlePacket(bytes, from: from) },
            onStream: { [weak self] message, from in self?.handleStream(message, from: from) })
        let port = UInt16(configuration.advertisePort ?? transport.port)
        apply { s in
            s.transport = transport
            return s.machine.start(port: port, now: .now())
        }
        return transport.port
    }

    /// The port this node advertises.
    var advertisedPort: UInt16 { state.withLockedValue { $0.machine.advertisedPort } }

    /// Runs the probe, gossip, suspicion and push-pull loops until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.probeLoop() }
            group.addTask { await self.every(self.configuration.gossipInterval) { self.gossip() } }
            group.addTask { await self.every(self.tickInterval) { self.tick() } }
            group.addTask { await self.pushPullLoop() }
            group.addTask { await self.joinRetryLoop() }
            group.addTask { await self.recordSyncLoop() }
        }
    }

    /// Tells the cluster this node leaves (dead about itself, plus `extraUserMessages` first), sent
    /// straight to every live member.
    func leave(extraUserMessages: [[UInt8]] = []) async {
        let plan = state.withLockedValue { s -> GossipStateMachine.Leave? in
            guard s.transport != nil else { return nil }
            return s.machine.leave(extraUserMessages: extraUserMessages, now: .now())
        }
        guard let plan else { return }
        perform(plan.userMessages)
        if !extraUserMessages.isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        // Twice, a little apart: UDP may drop one.
        for round in 0..<2 {
            perform(plan.dead)
            if round == 0 { try? await Task.sleep(for: .milliseconds(30)) }
        }
    }

    /// Closes the sockets; pending probes end at once.
    func close() async {
        let (transport, waiters) = state.withLockedValue { s -> (GossipTransport?, [GossipAckWaiter]) in
            s.machine.close()
            let waiters = Array(s.waiters.values)
            s.waiters.removeAll()
            defer { s.transport = nil }
            return (s.transport, waiters)
        }
        for w in waiters { w.ack() }
        await transport?.close()
    }

    // MARK: Queries

    /// Every member known, this node included, sorted by name.
    func members() -> [GossipMember] { state.withLockedValue { $0.machine.memberList } }

    /// The member named `name`.
    func member(_ name: String) -> GossipMember? { state.withLockedValue { $0.machine.member(name) } }

    /// This node's Lifeguard health score (0 is healthy).
    var awareness: Int { state.withLockedValue { $0.machine.awareness } }

    /// This node's incarnation.
    var incarnation: UInt32 { state.withLockedValue { $0.machine.incarnation } }

    /// Suspects `node` as if a probe of it failed (for tests of refutation).
    func accuse(_ node: String) {
        apply { $0.machine.accuse(node, now: .now()) }
    }

    // MARK: Broadcasts

    /// Queues a user message for gossip to Swift Micro members under `key` (replacing an older one).
    func broadcastUser(key: String, payload: [UInt8]) {
        state.withLockedValue { $0.machine.enqueueUser(key: key, payload: payload) }
        // A registration goes out at once rather than at the next gossip tick.
        gossip()
    }

    /// The largest user payload that fits a gossip packet.
    var maxUserPayload: Int { state.withLockedValue { $0.machine.maxUserPayload } }

    /// Sends a user message over TCP to every live Swift Micro member (for payloads too big for a packet).
    func sendReliableToMicroMembers(_ payload: [UInt8]) async {
        let (targets, transport) = state.withLockedValue { ($0.machine.microMemberSockets, $0.transport) }
        guard let bytes = try? GossipWire.encodeStreamUser(payload), let transport else { return }
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

    /// Push-pulls with each of `seeds` (join), then with a Swift Micro member they told of when none of
    /// them was one (a serf agent carries no records); returns how many seeds answered.
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
        // Before the join returns, so a one-shot client (`micro services`) lists what the Swift members hold.
        if ok > 0 { await syncRecords() }
        return ok
    }

    /// One TCP state exchange with `address`.
    func pushPull(with address: SocketAddress, join: Bool) async throws {
        guard case let (transport, nodes)? = state.withLockedValue({ s in s.transport.map { ($0, s.machine.localNodes) } }) else {
            throw GossipError(.shutdown)
        }
        do {
            let request = try GossipWire.encode(.pushPull(PushPullMessage(join: join, nodes: nodes, userState: delegate.localState(join: join))))
            let reply = try await transport.exchange(request, to: address, expectReply: true)
            guard case .pushPull(let remote) = reply else {
                throw GossipError(.protocolViolation, "push-pull answered with \(String(describing: reply))")
            }
            apply { s in
                let now = NIODeadline.now()
                let actions = s.machine.merge(remote, now: now)
                s.machine.pushPullEnded(with: address, succeeded: true, now: now)
                return actions
            }
        } catch {
            state.withLockedValue { $0.machine.pushPullEnded(with: address, succeeded: false, now: .now()) }
            throw error
        }
    }

    /// Push-pulls with a live Swift Micro member while none has answered one yet (see
    /// ``GossipStateMachine/recordSyncTarget(now:)``); does nothing otherwise.
    private func syncRecords() async {
        guard let target = state.withLockedValue({ $0.machine.recordSyncTarget(now: .now()) }), let socket = target.socket else { return }
        do { try await pushPull(with: socket, join: false) } catch {
            logger.debug("record sync failed", metadata: ["with": "\(target.name)", "error": "\(error)"])
        }
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
        apply { $0.machine.receive(messages, from: from, now: .now()) }
    }

    private func handleStream(_ message: GossipMessage, from: SocketAddress?) -> [UInt8]? {
        let (reply, actions, transport) = state.withLockedValue { s in
            let (reply, actions) = s.machine.receiveStream(message, now: .now())
            return (reply, actions, s.transport)
        }
        // The reply's user state is taken before the remote state is merged, as memberlist does.
        let bytes: [UInt8]? = switch reply {
        case .bytes(let bytes): bytes
        case .localState(let nodes): try? GossipWire.encode(.pushPull(PushPullMessage(join: false, nodes: nodes, userState: delegate.localState(join: false))))
        case nil: nil
        }
        perform(actions, via: transport)
        return bytes
    }

    // MARK: Performing actions

    /// Runs `body` on the state machine under the lock, then performs the actions it returned.
    private func apply(_ body: (inout State) -> [GossipAction]) {
        let (actions, transport, woken) = state.withLockedValue { s -> ([GossipAction], GossipTransport?, [GossipAckWaiter]) in
            let actions = body(&s)
            var woken: [GossipAckWaiter] = []
            for case .ackProbe(let seqNo) in actions { if let w = s.waiters[seqNo] { woken.append(w) } }
            return (actions, s.transport, woken)
        }
        perform(actions, via: transport, waking: woken)
    }

    private func perform(_ actions: [GossipAction]) {
        guard !actions.isEmpty else { return }
        perform(actions, via: state.withLockedValue { $0.transport })
    }

    /// Sends the packets first, then tells the delegate, wakes probes and arms timers, in order.
    private func perform(_ actions: [GossipAction], via transport: GossipTransport?, waking woken: [GossipAckWaiter] = []) {
        if let transport {
            for case .send(let bytes, let to) in actions { transport.send(bytes, to: to) }
        }
        for w in woken { w.ack() }
        for action in actions {
            switch action {
            case .send, .ackProbe: break
            case .notify(let event): delegate.notifyMembership(event)
            case .deliver(let payload): delegate.notifyMessage(payload)
            case .mergeRemoteState(let userState, let join): delegate.mergeRemoteState(userState, join: join)
            case .armRelayTimeout(let seqNo, let after):
                loop.scheduleTask(in: after) { [weak self] in
                    self?.apply { $0.machine.relayTimedOut(seqNo: seqNo) }
                }
            case .log(let message, let metadata): logger.debug(message, metadata: metadata)
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

    /// One gossip round (see ``GossipStateMachine/gossip(now:)``).
    private func gossip() {
        apply { $0.machine.gossip(now: .now()) }
    }

    /// Declares suspects whose time ran out dead, and forgets members dead for long enough.
    private func tick() {
        apply { $0.machine.tick(now: .now()) }
    }

    private func probeLoop() async {
        while !Task.isCancelled {
            let start = ContinuousClock.now
            await probeOnce()
            let next = start + configuration.probeInterval
            do { try await Task.sleep(until: next) } catch { return }
        }
    }

    /// One probe: direct ping, then indirect pings (and a TCP ping) until the probe interval ends.
    private func probeOnce() async {
        let waiter = GossipAckWaiter()
        guard case let (probe, transport)? = state.withLockedValue({ s -> (GossipProbe, GossipTransport)? in
            guard let transport = s.transport, let probe = s.machine.startProbe(now: .now()) else { return nil }
            s.waiters[probe.seqNo] = waiter
            return (probe, transport)
        }) else { return }
        defer { _ = state.withLockedValue { $0.waiters.removeValue(forKey: probe.seqNo) } }
        transport.send(probe.packet, to: probe.socket)
        if await waiter.wait(timeout: probe.timeout, on: loop) {
            apply { $0.machine.probeEnded(seqNo: probe.seqNo, acked: true, now: .now()) }
            return
        }
        apply { $0.machine.probeTimedOut(seqNo: probe.seqNo) }
        // memberlist protocol 3+: also ping over TCP, in case only UDP is lost on the way.
        async let tcpAcked: Bool = tcpPing(probe, via: transport, waiter: waiter)
        let acked = await waiter.wait(timeout: probe.indirectTimeout, on: loop)
        if await tcpAcked, !acked {
            logger.debug("member answered a TCP ping but not UDP probes: the network may be losing UDP", metadata: ["node": "\(probe.target)"])
        }
        apply { $0.machine.probeEnded(seqNo: probe.seqNo, acked: acked, now: .now()) }
    }

    /// Pings the probe's target over a TCP stream (memberlist's fallback probe); an ack with its seqNo acks the probe.
    private func tcpPing(_ probe: GossipProbe, via transport: GossipTransport, waiter: GossipAckWaiter) async -> Bool {
        guard let bytes = probe.tcpPing, probe.indirectTimeout > .zero,
              let reply = try? await transport.exchange(bytes, to: probe.socket, expectReply: true, timeout: probe.indirectTimeout),
              case .ack(let ack) = reply, ack.seqNo == probe.seqNo else { return false }
        waiter.ack()
        return true
    }

    /// Test hook: drop outgoing UDP to addresses `drop` returns true for.
    func dropOutgoingUDP(_ drop: (@Sendable (SocketAddress) -> Bool)?) {
        state.withLockedValue { $0.transport }?.udpFilter.withLockedValue { $0 = drop }
    }

    private func pushPullLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.pushPullInterval) } catch { return }
            guard let target = state.withLockedValue({ $0.machine.pushPullTarget() }), let socket = target.socket else { continue }
            do { try await pushPull(with: socket, join: false) } catch {
                logger.debug("push-pull failed", metadata: ["with": "\(target.name)", "error": "\(error)"])
            }
        }
    }

    /// Until a push-pull with a Swift Micro member succeeds, syncs records with the first one learned of
    /// later (by gossip, or from another member's push-pull), then ends.
    private func recordSyncLoop() async {
        while !Task.isCancelled, !state.withLockedValue({ $0.machine.recordsSynced }) {
            do { try await Task.sleep(for: tickInterval) } catch { return }
            await syncRecords()
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
            let live = state.withLockedValue { $0.machine.liveAddresses }
            let missing = configuration.seeds.filter { seed in
                guard let a = try? GossipAddress.resolve(seed), let ip = a.ipAddress, let packed = GossipAddress.pack(ip), let port = a.port else { return false }
                return !live.contains(GossipAddress.hostPort(packed, UInt16(port)))
            }
            if missing.isEmpty { wait = configuration.joinRetryInterval } else { await join(missing) }
        }
    }
}
