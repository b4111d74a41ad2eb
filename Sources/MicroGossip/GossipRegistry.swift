import Foundation
import Logging
import MicroCore
import NIOConcurrencyHelpers
import NIOCore

/// A registry with no server (`MICRO_REGISTRY=gossip`): every process is a member of a SWIM
/// cluster speaking hashicorp memberlist's protocol (so a `serf agent` can join it), and service
/// records spread by gossip.
///
/// - Membership: UDP probes with indirect probes, Lifeguard suspicion and awareness, TCP
///   push-pull on join and every ``GossipConfiguration/pushPullInterval``; see ``members()``.
/// - Records: register and deregister spread as memberlist user messages to the other Swift
///   members; the full set rides along every push-pull so late joiners converge. A member whose
///   seeds are serf agents (which carry no records) push-pulls with a Swift member they tell it of
///   before its join ends. TTLs apply on every member; a member declared dead takes its records
///   with it. See `GossipRecords`.
/// - Binds and joins the seeds on first use (or ``start()``); every call waits for that.
///   ``shutdown()`` leaves the cluster (serf sees a `left` member) and stops every task.
public final class GossipRegistry: Registry {
    /// Always `gossip`.
    public let name = "gossip"
    /// Addresses and timings.
    public let configuration: GossipConfiguration
    /// This member's name in the cluster.
    public let nodeName: String
    /// The tag that marks Swift Micro gossip members in node meta (`micro=gossip`).
    public static let markerTag = (key: "micro", value: "gossip")

    private let memberlist: GossipMemberlist
    private let records: GossipRecords
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    /// Why the configuration cannot work (every call then fails with it).
    private let invalid: GossipError?
    /// The member's loops (probes, gossip, push-pull, expiry), once it is bound.
    private let loops = OwnedTasks()

    private struct State {
        /// Binding and the first join, shared by every caller that waits for it.
        var starting: Task<Int, any Error>?
        var loopsStarted = false
        var closed = false
    }

    /// A member with `configuration`; it binds and joins on first use (or ``start()``).
    public convenience init(configuration: GossipConfiguration, logger: Logger = Logger(label: "micro.registry.gossip")) {
        self.init(configuration: configuration, logger: logger, configurationError: nil)
    }

    private init(configuration: GossipConfiguration, logger: Logger, configurationError: GossipError?) {
        self.configuration = configuration
        self.logger = logger
        let nodeName = configuration.nodeName.flatMap { $0.isEmpty ? nil : $0 } ?? "micro-\(UUID().uuidString.prefix(8).lowercased())"
        self.nodeName = nodeName
        var tags = configuration.tags
        tags[Self.markerTag.key] = Self.markerTag.value
        let meta = SerfTags.encode(tags)
        let records = GossipRecords(selfName: nodeName, tombstoneLifetime: configuration.tombstoneLifetime, logger: logger)
        self.records = records
        let advertiseHost = configuration.advertiseHost ?? (["0.0.0.0", "::", ""].contains(configuration.bindHost) ? "127.0.0.1" : configuration.bindHost)
        let advertise = GossipAddress.pack(advertiseHost)
        memberlist = GossipMemberlist(
            name: nodeName, configuration: configuration, advertiseAddr: advertise ?? [127, 0, 0, 1], meta: meta,
            isMicro: { SerfTags.decode($0)[GossipRegistry.markerTag.key] == GossipRegistry.markerTag.value },
            delegate: records, logger: logger)
        let invalid: GossipError? = if let configurationError {
            configurationError
        } else if advertise == nil {
            GossipError(.invalidAddress, "advertise address \(advertiseHost) is not a numeric IP")
        } else if meta.count > GossipStateMachine.maxMetaSize {
            GossipError(.invalidConfiguration, "tags encode to \(meta.count) bytes, over memberlist's \(GossipStateMachine.maxMetaSize)")
        } else { nil }
        self.invalid = invalid
    }

    /// A member bound to `bind` (`host:port`; empty: 127.0.0.1:7946) joining `peers` (comma-separated
    /// `host:port`). An unparsable address makes every call fail with ``GossipError``.
    public convenience init(bind: String = "127.0.0.1:7946", peers: String = "", logger: Logger = Logger(label: "micro.registry.gossip")) {
        let bindText = bind.isEmpty ? "127.0.0.1:7946" : bind
        let seeds = peers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        do {
            self.init(configuration: try GossipConfiguration(bind: bindText, seeds: seeds), logger: logger, configurationError: nil)
        } catch {
            var configuration = GossipConfiguration()
            configuration.seeds = seeds
            self.init(configuration: configuration, logger: logger,
                      configurationError: error as? GossipError ?? GossipError(.invalidAddress, "\(bindText): \(error)"))
        }
    }

    /// Binds the sockets and joins the seeds (once; later calls wait for that) and starts the member's
    /// loops; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let memberlist = memberlist, configuration = configuration, logger = logger, invalid = invalid
        let starting = state.withLockedValue { s -> Task<Int, any Error>? in
            guard !s.closed else { return nil }
            if let starting = s.starting { return starting }
            // A one-shot result every caller awaits (and shutdown too), not a loop: the loops are owned tasks.
            let starting = Task<Int, any Error> {
                if let invalid { throw invalid }
                let port = try await memberlist.start()
                if !configuration.seeds.isEmpty {
                    let joined = await memberlist.join(configuration.seeds)
                    if joined == 0 { logger.info("no seed answered yet; retrying", metadata: ["seeds": "\(configuration.seeds)"]) }
                }
                return port
            }
            s.starting = starting
            return starting
        }
        guard let starting else { throw GossipError(.shutdown) }
        let port = try await starting.value
        startLoops()
        return port
    }

    private func startLoops() {
        let first = state.withLockedValue { s -> Bool in
            guard !s.loopsStarted else { return false }
            s.loopsStarted = true
            return true
        }
        guard first else { return }
        let memberlist = memberlist, records = records, sweep = configuration.sweepInterval
        loops.spawn { await memberlist.run() }
        loops.spawn {
            while !Task.isCancelled {
                do { try await Task.sleep(for: sweep) } catch { return }
                records.sweep()
            }
        }
    }

    /// `host:port` other members reach this one at.
    public func advertisedAddress() async throws -> String {
        _ = try await start()
        return memberlist.member(nodeName)?.address ?? ""
    }

    /// Every member this one knows (itself included), with its state.
    public func members() async throws -> [GossipMember] {
        _ = try await start()
        return memberlist.members()
    }

    /// Joins the cluster through `seeds` (`host:port`); returns how many answered.
    @discardableResult
    public func join(_ seeds: [String]) async throws -> Int {
        _ = try await start()
        let n = await memberlist.join(seeds)
        if n == 0 { throw GossipError(.joinFailed, "no answer from \(seeds)") }
        return n
    }

    /// Leaves the cluster gracefully (serf's leave intent, then memberlist's dead-about-itself),
    /// ends every watch and stops every task. Registrations made here vanish from every member.
    public func shutdown() async {
        let (starting, first) = state.withLockedValue { s -> (Task<Int, any Error>?, Bool) in
            defer { s.closed = true }
            return (s.starting, !s.closed)
        }
        guard first else { return }
        if let starting, (try? await starting.value) != nil {
            let intent = GossipRecords.serfLeaveIntent(node: nodeName, clock: records.serfClock + 1)
            await memberlist.leave(extraUserMessages: [intent])
        }
        await loops.close()
        await memberlist.close()
        records.watchers.finishAll()
    }

    /// Stops without leaving: sockets close, tasks stop, no goodbye (what a crash looks like to the others).
    func crash() async {
        let starting = state.withLockedValue { s -> Task<Int, any Error>? in
            s.closed = true
            return s.starting
        }
        _ = try? await starting?.value
        await loops.close()
        await memberlist.close()
        records.watchers.finishAll()
    }

    /// This member's Lifeguard health score (0: healthy; probes stretch by score + 1).
    var awareness: Int { memberlist.awareness }

    /// Drops this member's outgoing UDP to addresses `drop` returns true for (tests: lossy UDP).
    func dropOutgoingUDP(_ drop: (@Sendable (SocketAddress) -> Bool)?) async throws {
        _ = try await start()
        memberlist.dropOutgoingUDP(drop)
    }

    /// Suspects member `node` as a failed probe would (for tests).
    func accuse(_ node: String) async throws {
        _ = try await start()
        memberlist.accuse(node)
    }

    // MARK: Registry

    /// Adds or refreshes the record's nodes here and gossips them; other members drop them `ttl` after hearing of them.
    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        _ = try await start()
        let (events, updates) = records.registerLocal(service, ttl: ttl)
        records.watchers.emit(events)
        await spread(updates)
    }

    /// Removes the record's nodes (every node of that version registered here when it lists none) and gossips the delete.
    public func deregister(_ service: ServiceRecord) async throws {
        _ = try await start()
        let (events, updates) = records.deregisterLocal(service)
        records.watchers.emit(events)
        await spread(updates)
    }

    /// Every version of the service with the live nodes this member knows of.
    public func getService(_ name: String) async throws -> [ServiceRecord] {
        _ = try await start()
        return records.get(name)
    }

    /// Every service with live nodes this member knows of, sorted by name and version.
    public func listServices() async throws -> [ServiceRecord] {
        _ = try await start()
        return records.list()
    }

    /// `create`/`update`/`delete` as registrations arrive by gossip, are deregistered, expire, or leave with a dead member.
    public func watch(service: String?) async throws -> RegistryWatch {
        _ = try await start()
        return records.watchers.open(service: service)
    }

    /// Queues small updates for gossip; sends ones too big for a packet over TCP to every Swift member.
    private func spread(_ updates: [GossipRecords.Update]) async {
        for u in updates {
            let payload = GossipRecords.userMessage([u])
            if payload.count <= memberlist.maxUserPayload {
                let node = u.service.nodes.first?.id ?? ""
                memberlist.broadcastUser(key: "\(u.service.name)\u{0}\(u.service.version)\u{0}\(node)", payload: payload)
            } else {
                await memberlist.sendReliableToMicroMembers(payload)
            }
        }
    }
}
