import Logging
import MicroCore
import NIOCore
import Synchronization

/// go-micro's mDNS registry (`MICRO_REGISTRY=mdns`, go-micro's default): no server, every process
/// announces its own nodes on multicast DNS (RFC 6762) and answers for them, so Go and Swift services
/// on one link find each other.
///
/// - Register announces each node twice: as go-micro does (instance `<node id>.<service>.micro.` with
///   SRV, A/AAAA and a TXT holding the service JSON zlib-compressed and hex-encoded, plus the
///   `<service>._services.micro.` wildcard entry that makes listing work), and as a standard DNS-SD
///   instance of `_micro._tcp.local.` (TXT `name=`, `version=`, `id=` and the node metadata) that
///   avahi, Bonjour and zeroconf browse. A new or changed node is announced ``MDNSRegistryConfiguration/announceCount``
///   times (RFC 6762 §8.3), then again every half TTL while it stays registered.
/// - TTL: the records carry the registration's TTL (or ``MDNSRegistryConfiguration/announceTTL``). A
///   registration not renewed within its TTL is withdrawn with a goodbye; registering again with the
///   same record is a heartbeat that sends nothing.
/// - Deregister and ``shutdown()`` send goodbyes (TTL 0, RFC 6762 §10.1).
/// - The registry listens all the time: every response seen fills a cache of peers' nodes, which
///   expire with their records' TTL (refreshed by queries at 80–95 % of it, RFC 6762 §5.2). Get and
///   list send a query, wait ``MDNSRegistryConfiguration/queryTimeout`` for answers and read the cache;
///   watch reports the cache's `create`/`update`/`delete` events.
/// - Everything read from the network is bounded and checked; bad packets are dropped.
public final class MDNSRegistry: Registry {
    public let name = "mdns"
    /// Interfaces, timings and limits.
    public let configuration: MDNSRegistryConfiguration

    private let logger: Logger
    private let names: Result<MDNSNames, MDNSError>
    private let limits: DNSMessageDecoder.Limits
    private let watchers = RegistryWatchers()
    private let state: Mutex<State>
    private let counterBox = Mutex(Counters())

    private struct Local: Sendable {
        var node: MDNSLocalNode
        var expires: NIODeadline?
        var nextAnnounce: NIODeadline
        var announced: Int
    }

    /// The announcements' and expiries' periodic work, once the sockets are open.
    private let maintenance = OwnedTasks()

    private struct State: Sendable {
        var cache: MDNSPeerCache?
        var local: [DNSName: Local] = [:]
        var start: Task<MDNSTransport, any Error>?
        var transport: MDNSTransport?
        var lastReply: [[DNSResourceRecord]: NIODeadline] = [:]
        var closed = false
    }

    /// What the registry dropped or answered, for tests and diagnostics.
    public struct Counters: Sendable, Hashable {
        /// Datagrams received.
        public var packetsReceived = 0
        /// Datagrams that did not parse as DNS within the limits.
        public var packetsMalformed = 0
        /// Queries answered (one per reply packet).
        public var repliesSent = 0
    }

    /// A registry with `configuration`; its sockets open on first use.
    public init(configuration: MDNSRegistryConfiguration = .init(), logger: Logger = Logger(label: "micro.registry.mdns")) {
        self.configuration = configuration
        self.logger = logger
        var limits = DNSMessageDecoder.Limits()
        limits.maxPacketBytes = configuration.maxPacketBytes
        self.limits = limits
        do {
            let names = try MDNSNames(domain: configuration.domain, dnsSDServiceType: configuration.dnsSDServiceType)
            self.names = .success(names)
            state = Mutex(State(cache: MDNSPeerCache(names: names, maxPayloadBytes: configuration.maxTXTPayloadBytes,
                                                      maxInstances: configuration.maxCachedInstances)))
        } catch {
            self.names = .failure(error)
            state = Mutex(State())
        }
    }

    /// What was received, dropped and answered so far.
    public var counters: Counters { counterBox.withLock { $0 } }

    // MARK: Register

    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        guard !service.name.isEmpty else { throw MDNSError(.invalidArgument, "a service needs a name") }
        guard !service.nodes.isEmpty else { throw MDNSError(.invalidArgument, "require at least one node") }
        let names = try names.get()
        let seconds = Self.seconds(ttl ?? configuration.announceTTL)
        let nodes = try service.nodes.map { node throws(MDNSError) in
            try MDNSLocalNode(service: service, node: node, ttl: seconds, names: names, configuration: configuration)
        }
        let transport = try await start()
        let now = NIODeadline.now()
        let (send, events) = try state.withLock { s throws(MDNSError) -> ([[DNSResourceRecord]], [RegistryEvent]) in
            guard !s.closed else { throw MDNSError(.shutdown, "the registry is shut down") }
            var send: [[DNSResourceRecord]] = []
            var events: [RegistryEvent] = []
            for node in nodes {
                let expires = ttl.map { now + Self.amount($0) }
                if var existing = s.local[node.instance], existing.node.sameRecords(as: node) {
                    existing.expires = expires
                    s.local[node.instance] = existing
                    continue
                }
                s.local[node.instance] = Local(node: node, expires: expires, nextAnnounce: now + interval(after: 1, ttl: seconds), announced: 1)
                send += node.groups
                events += s.cache?.ingest(.response(answers: node.goMicro + node.wildcard), now: now) ?? []
            }
            return (send, events)
        }
        watchers.emit(events)
        for group in send { await multicast(group, on: transport) }
    }

    public func deregister(_ service: ServiceRecord) async throws {
        _ = try names.get()
        let transport = try await start()
        let ids = Set(service.nodes.map(\.id))
        let (send, events) = state.withLock { s -> ([[DNSResourceRecord]], [RegistryEvent]) in
            let gone = s.local.filter { _, l in
                l.node.record.name == service.name && (ids.isEmpty ? l.node.record.version == service.version : ids.contains(l.node.record.nodes[0].id))
            }
            return Self.withdraw(Array(gone.keys), state: &s, now: .now())
        }
        watchers.emit(events)
        for group in send { await multicast(group, on: transport) }
    }

    /// Takes `instances` out of the local set; returns their goodbyes and the events.
    private static func withdraw(_ instances: [DNSName], state s: inout State, now: NIODeadline) -> ([[DNSResourceRecord]], [RegistryEvent]) {
        var send: [[DNSResourceRecord]] = []
        var events: [RegistryEvent] = []
        for instance in instances {
            guard let l = s.local.removeValue(forKey: instance) else { continue }
            let last = !s.local.values.contains { $0.node.record.name == l.node.record.name }
            let goodbyes = l.node.goodbyeGroups(lastOfService: last)
            send += goodbyes
            for g in goodbyes { events += s.cache?.ingest(.response(answers: g), now: now) ?? [] }
        }
        return (send, events)
    }

    // MARK: Read

    public func getService(_ name: String) async throws -> [ServiceRecord] {
        let names = try names.get()
        guard let question = try? names.service(name), !name.isEmpty else { return [] }
        try await query([DNSQuestion(name: question, type: .ptr)])
        return readCache { $0.get(name) }
    }

    public func listServices() async throws -> [ServiceRecord] {
        let names = try names.get()
        try await query([DNSQuestion(name: names.services, type: .ptr)])
        return readCache { $0.list() }
    }

    public func watch(service: String?) async throws -> RegistryWatch {
        let names = try names.get()
        let transport = try await start()
        let stream = watchers.open(service: service)
        // Ask who is there: answers become events like any other response.
        let question = service.flatMap { try? names.service($0) } ?? names.services
        await send(query: [DNSQuestion(name: question, type: .ptr)], on: transport)
        return stream
    }

    private func query(_ questions: [DNSQuestion]) async throws {
        let transport = try await start()
        await send(query: questions, on: transport)
        try await Task.sleep(for: configuration.queryTimeout)
    }

    private func readCache(_ read: (MDNSPeerCache) -> [ServiceRecord]) -> [ServiceRecord] {
        let (events, result) = state.withLock { s -> ([RegistryEvent], [ServiceRecord]) in
            let events = s.cache?.expire(now: .now()) ?? []
            return (events, s.cache.map(read) ?? [])
        }
        watchers.emit(events)
        return result
    }

    // MARK: Lifecycle

    /// Withdraws every node this registry announced (goodbyes), stops listening and ends every watch.
    public func shutdown() async {
        let start = state.withLock { s -> Task<MDNSTransport, any Error>? in
            s.closed = true
            return s.start
        }
        await maintenance.close()
        if let transport = try? await start?.value {
            let (send, events) = state.withLock { s in Self.withdraw(Array(s.local.keys), state: &s, now: .now()) }
            watchers.emit(events)
            for group in send { await multicast(group, on: transport) }
            await transport.close()
            state.withLock { $0.transport = nil }
        }
        watchers.finishAll()
    }

    /// The transport, opening it (once) on first use.
    private func start() async throws -> MDNSTransport {
        let task = try state.withLock { s throws(MDNSError) -> Task<MDNSTransport, any Error> in
            guard !s.closed else { throw MDNSError(.shutdown, "the registry is shut down") }
            if let t = s.start { return t }
            let configuration = configuration, logger = logger
            let t = Task {
                try await MDNSTransport.open(configuration: configuration, logger: logger) { [weak self] packet in self?.receive(packet) }
            }
            s.start = t
            return t
        }
        let transport: MDNSTransport
        do { transport = try await task.value } catch {
            state.withLock { s in if s.start == task { s.start = nil } }
            throw error
        }
        let first = try state.withLock { s throws(MDNSError) -> Bool in
            guard !s.closed else { throw MDNSError(.shutdown, "the registry is shut down") }
            guard s.transport == nil else { return false }
            s.transport = transport
            return true
        }
        if first {
            let interval = configuration.maintenanceInterval
            maintenance.spawn { [weak self] in
                while !Task.isCancelled {
                    guard let self else { return }
                    await self.tick()
                    try? await Task.sleep(for: interval)
                }
            }
        }
        return transport
    }

    // MARK: Network

    private func receive(_ packet: MDNSTransport.Packet) {
        counterBox.withLock { $0.packetsReceived += 1 }
        let message: DNSMessage
        do { message = try DNSMessageDecoder.decode(packet.bytes, limits: limits) } catch {
            counterBox.withLock { $0.packetsMalformed += 1 }
            logger.trace("dropping a malformed mdns packet", metadata: ["from": "\(packet.source)", "error": "\(error)"])
            return
        }
        if message.isResponse {
            let now = NIODeadline.now()
            let (events, questions, transport) = state.withLock { s -> ([RegistryEvent], [DNSQuestion], MDNSTransport?) in
                guard !s.closed, s.cache != nil else { return ([], [], nil) }
                let events = s.cache!.ingest(message, now: now)
                return (events, events.isEmpty ? [] : s.cache!.dueQuestions(now: now), s.transport)
            }
            watchers.emit(events)
            if let transport, !questions.isEmpty { sendNow(query: questions, on: transport) }
        } else if !packet.toQuerySocket {
            answer(message, from: packet)
        }
    }

    private func answer(_ query: DNSMessage, from packet: MDNSTransport.Packet) {
        guard let names = try? names.get() else { return }
        let now = NIODeadline.now()
        let (replies, transport) = state.withLock { s -> ([MDNSResponder.Reply], MDNSTransport?) in
            guard !s.closed, let transport = s.transport, !s.local.isEmpty else { return ([], nil) }
            let nodes = s.local.values.map(\.node).sorted { $0.instance.description < $1.instance.description }
            let groups = nodes.flatMap(\.groups)
            // Meta-query answers (RFC 6763 §9): the service types of go-micro's domain.
            var meta: [DNSResourceRecord] = []
            var seen = Set<DNSName>()
            for node in nodes {
                if let ptr = node.goMicro.first, seen.insert(ptr.name).inserted {
                    meta.append(DNSResourceRecord(name: names.metaQuery, ttl: node.ttl, data: .ptr(ptr.name)))
                }
            }
            if let first = nodes.first { meta.append(DNSResourceRecord(name: names.metaQuery, ttl: first.ttl, data: .ptr(names.services))) }
            var replies = MDNSResponder.replies(to: query, sourcePort: packet.source.port ?? 0, mdnsPort: configuration.port,
                                                groups: groups, meta: meta)
            // RFC 6762 §6: the same records go to the group at most once a second.
            replies.removeAll { r in
                guard !r.unicast else { return false }
                let key = r.message.answers + r.message.additionals
                if let last = s.lastReply[key], now - last < .seconds(1) { return true }
                s.lastReply[key] = now
                return false
            }
            if s.lastReply.count > 1024 { s.lastReply = s.lastReply.filter { now - $0.value < .seconds(1) } }
            return (replies, transport)
        }
        guard let transport, !replies.isEmpty else { return }
        counterBox.withLock { $0.repliesSent += replies.count }
        let packets = replies.compactMap { r -> (bytes: [UInt8], unicast: Bool)? in
            guard let bytes = try? DNSMessageEncoder.encode(r.message) else { return nil }
            return (bytes, r.unicast)
        }
        for p in packets {
            if p.unicast { transport.unicastNow(p.bytes, to: packet.source, link: packet.link) } else { transport.multicastNow(p.bytes, link: packet.link) }
        }
    }

    private func multicast(_ records: [DNSResourceRecord], on transport: MDNSTransport) async {
        do { await transport.multicast(try DNSMessageEncoder.encode(.response(answers: records))) } catch {
            logger.warning("cannot encode an mdns announcement", metadata: ["error": "\(error)"])
        }
    }

    private func send(query questions: [DNSQuestion], on transport: MDNSTransport) async {
        var start = 0
        while start < questions.count {
            let chunk = Array(questions[start..<min(start + 32, questions.count)])
            start += chunk.count
            if let bytes = try? DNSMessageEncoder.encode(.query(chunk)) { await transport.query(bytes) }
        }
    }

    private func sendNow(query questions: [DNSQuestion], on transport: MDNSTransport) {
        var start = 0
        while start < questions.count {
            let chunk = Array(questions[start..<min(start + 32, questions.count)])
            start += chunk.count
            if let bytes = try? DNSMessageEncoder.encode(.query(chunk)) { transport.queryNow(bytes) }
        }
    }

    // MARK: Maintenance

    /// One round of maintenance: expires peers' records, withdraws lapsed registrations, re-announces
    /// and sends refresh queries.
    private func tick() async {
        let now = NIODeadline.now()
        let (send, questions, events, transport) = state.withLock { s -> ([[DNSResourceRecord]], [DNSQuestion], [RegistryEvent], MDNSTransport?) in
            guard !s.closed, let transport = s.transport else { return ([], [], [], nil) }
            var events = s.cache?.expire(now: now) ?? []
            let lapsed = s.local.filter { $0.value.expires.map { $0 <= now } ?? false }.map(\.key)
            let withdrawn = Self.withdraw(lapsed, state: &s, now: now)
            var send = withdrawn.0
            events += withdrawn.1
            for (instance, var l) in s.local where l.nextAnnounce <= now {
                send += l.node.groups
                events += s.cache?.ingest(.response(answers: l.node.goMicro + l.node.wildcard), now: now) ?? []
                l.announced += 1
                l.nextAnnounce = now + interval(after: l.announced, ttl: l.node.ttl)
                s.local[instance] = l
            }
            let questions = s.cache?.dueQuestions(now: now) ?? []
            return (send, questions, events, transport)
        }
        watchers.emit(events)
        guard let transport else { return }
        for group in send { await multicast(group, on: transport) }
        if !questions.isEmpty { await self.send(query: questions, on: transport) }
    }

    /// The wait after the `count`-th announcement: 1 s, 2 s, 4 s ... during the first
    /// ``MDNSRegistryConfiguration/announceCount``, then half the TTL (never longer than half the TTL).
    private func interval(after count: Int, ttl: UInt32) -> TimeAmount {
        let half = TimeAmount.milliseconds(Int64(ttl) * 500)
        guard count < configuration.announceCount else { return half }
        let first = Self.amount(configuration.announceInterval)
        let burst = TimeAmount.nanoseconds(first.nanoseconds << min(count - 1, 20))
        return min(burst, half)
    }

    static func amount(_ d: Duration) -> TimeAmount {
        .nanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }

    /// Whole seconds of a TTL, rounded up, at least 1 (RFC 2181 caps TTLs at 2^31 - 1).
    static func seconds(_ d: Duration) -> UInt32 {
        let ns = amount(d).nanoseconds
        return UInt32(min(max((ns + 999_999_999) / 1_000_000_000, 1), 0x7FFF_FFFF))
    }
}
