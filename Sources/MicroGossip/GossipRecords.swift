import Foundation
import Logging
import MicroCore
import NIOConcurrencyHelpers
import NIOCore

/// The service records every member knows, kept consistent by gossip.
///
/// Each registration is one node of one service version, owned by the member (its *origin*) that
/// registered it and versioned by that origin's sequence number (nanoseconds since 1970, made
/// strictly increasing, so a restarted origin still wins). An update is go-micro's registry JSON:
/// `{"origin","seq","op":"put"|"delete","ttl_ms"?,"service":{...one node...}}`; a newer sequence
/// replaces an older one, deletes are remembered for ``GossipConfiguration/tombstoneLifetime``.
/// Updates travel as memberlist user messages (prefix ``userMessagePrefix``) to Swift Micro members,
/// and the whole set rides in push-pull user state (serf's push-pull map with an extra
/// `MicroRecords` field, so serf agents accept it), so late joiners converge. A receiver expires a
/// registration its TTL after receiving it; the records of a member declared dead or left vanish.
final class GossipRecords: GossipDelegate {
    /// First two bytes of a record user message (serf's own message types are 0...9).
    static let userMessagePrefix: [UInt8] = [0x4d, 0x01]
    /// serf's `messagePushPullType`.
    static let serfPushPullType: UInt8 = 2
    /// serf's `messageLeaveType`.
    static let serfLeaveType: UInt8 = 0

    struct Key: Hashable, Sendable {
        var name: String
        var version: String
        var node: String
    }

    struct Update: Codable, Sendable, Hashable {
        var origin: String
        var seq: UInt64
        var op: String
        var ttlMilliseconds: Int64?
        var service: ServiceRecord

        enum CodingKeys: String, CodingKey {
            case origin, seq, op, service
            case ttlMilliseconds = "ttl_ms"
        }
    }

    private struct Entry: Sendable {
        var origin: String
        var seq: UInt64
        var record: ServiceRecord
        var ttl: Duration?
        var expires: NIODeadline?
        var deleted: Bool
        var touched: NIODeadline
    }

    private struct State: Sendable {
        var view = RegistryState()
        var entries: [Key: Entry] = [:]
        /// Members known dead or left (their records are refused).
        var gone: Set<String> = []
        var lastSeq: UInt64 = 0
        /// The highest serf Lamport time seen (for a leave intent serf accepts).
        var serfClock: UInt64 = 0
    }

    let selfName: String
    let watchers = RegistryWatchers()
    private let tombstoneLifetime: TimeAmount
    private let maxUpdates = 100_000
    private let maxEntries = 262_144
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    init(selfName: String, tombstoneLifetime: Duration, logger: Logger) {
        self.selfName = selfName
        self.tombstoneLifetime = TimeAmount(tombstoneLifetime)
        self.logger = logger
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    // MARK: Local changes

    /// Registers `service`'s nodes as this member's; returns the watch events and the updates to spread.
    func registerLocal(_ service: ServiceRecord, ttl: Duration?) -> (events: [RegistryEvent], updates: [Update]) {
        let now = NIODeadline.now()
        return state.withLockedValue { s in
            var events = s.view.expire(now: now)
            var updates: [Update] = []
            for node in service.nodes {
                var one = service
                one.nodes = [node]
                let key = Key(name: service.name, version: service.version, node: node.id)
                let seq = nextSeq(&s)
                s.entries[key] = Entry(origin: selfName, seq: seq, record: one, ttl: ttl, expires: ttl.map { now + TimeAmount($0) },
                                       deleted: false, touched: now)
                events += s.view.register(one, ttl: ttl, now: now)
                updates.append(Update(origin: selfName, seq: seq, op: "put", ttlMilliseconds: ttl.map(Self.milliseconds), service: one))
            }
            return (events, updates)
        }
    }

    /// Deregisters `service`'s nodes (all of this member's nodes of that version when it lists none).
    func deregisterLocal(_ service: ServiceRecord) -> (events: [RegistryEvent], updates: [Update]) {
        let now = NIODeadline.now()
        return state.withLockedValue { s in
            var events = s.view.expire(now: now)
            var ids = service.nodes.map(\.id)
            if ids.isEmpty {
                ids = s.entries.filter { $0.key.name == service.name && $0.key.version == service.version && !$0.value.deleted }.map(\.key.node)
            }
            var updates: [Update] = []
            for id in ids {
                let key = Key(name: service.name, version: service.version, node: id)
                var one = s.entries[key]?.record ?? service
                if one.nodes.isEmpty { one.nodes = [Node(id: id, address: "")] }
                one.nodes = one.nodes.filter { $0.id == id }
                if one.nodes.isEmpty { one.nodes = [Node(id: id, address: "")] }
                let seq = nextSeq(&s)
                s.entries[key] = Entry(origin: selfName, seq: seq, record: one, ttl: nil, expires: nil, deleted: true, touched: now)
                events += s.view.deregister(one)
                updates.append(Update(origin: selfName, seq: seq, op: "delete", ttlMilliseconds: nil, service: one))
            }
            return (events, updates)
        }
    }

    private func nextSeq(_ s: inout State) -> UInt64 {
        let wall = UInt64(max(0, Date().timeIntervalSince1970 * 1e9))
        s.lastSeq = max(s.lastSeq + 1, wall)
        return s.lastSeq
    }

    private static func milliseconds(_ d: Duration) -> Int64 {
        let (seconds, atto) = d.components
        return max(1, seconds * 1000 + atto / 1_000_000_000_000_000)
    }

    // MARK: Reads

    func get(_ name: String) -> [ServiceRecord] {
        let (events, result) = state.withLockedValue { s in (s.view.expire(), s.view.get(name)) }
        watchers.emit(events)
        return result
    }

    func list() -> [ServiceRecord] {
        let (events, result) = state.withLockedValue { s in (s.view.expire(), s.view.list()) }
        watchers.emit(events)
        return result
    }

    /// Drops registrations whose TTL passed and old tombstones; tells watchers.
    func sweep() {
        let now = NIODeadline.now()
        let events = state.withLockedValue { s -> [RegistryEvent] in
            let events = s.view.expire(now: now)
            let stale = s.entries.filter { e in
                (e.value.deleted || (e.value.expires.map { $0 <= now } ?? false)) && now - e.value.touched > tombstoneLifetime
            }.map(\.key)
            for key in stale { s.entries[key] = nil }
            return events
        }
        watchers.emit(events)
    }

    /// The highest serf Lamport time seen.
    var serfClock: UInt64 { state.withLockedValue { $0.serfClock } }

    // MARK: Encoding

    /// A user message carrying `updates`.
    static func userMessage(_ updates: [Update]) -> [UInt8] {
        Self.userMessagePrefix + ((try? Array(encoder.encode(updates))) ?? [])
    }

    /// serf's leave intent for `node` (`messageLeave{LTime, Node, Prune}`), so serf shows it `left`.
    static func serfLeaveIntent(node: String, clock: UInt64) -> [UInt8] {
        var out: [UInt8] = [serfLeaveType]
        try? MessagePack.encode(.map([
            MessagePackPair(.string("LTime"), .uint(clock)), MessagePackPair(.string("Node"), .string(node)),
            MessagePackPair(.string("Prune"), .bool(false)),
        ]), into: &out)
        return out
    }

    // MARK: Applying remote updates

    func apply(_ updates: [Update], now: NIODeadline = .now()) {
        let events = state.withLockedValue { s -> [RegistryEvent] in
            var events = s.view.expire(now: now)
            for u in updates.prefix(maxUpdates) { events += apply(u, now: now, &s) }
            return events
        }
        watchers.emit(events)
    }

    private func apply(_ u: Update, now: NIODeadline, _ s: inout State) -> [RegistryEvent] {
        guard u.origin != selfName, !s.gone.contains(u.origin), u.service.nodes.count == 1, !u.service.name.isEmpty else { return [] }
        let key = Key(name: u.service.name, version: u.service.version, node: u.service.nodes[0].id)
        if let existing = s.entries[key] {
            if existing.seq >= u.seq { return [] }
        } else if s.entries.count >= maxEntries {
            return []  // bounded: a flood of made-up registrations cannot grow the table without end
        }
        switch u.op {
        case "put":
            let ttl = u.ttlMilliseconds.map { Duration.milliseconds(max(1, $0)) }
            let expires = ttl.map { now + TimeAmount($0) }
            if let expires, expires <= now { return [] }
            s.entries[key] = Entry(origin: u.origin, seq: u.seq, record: u.service, ttl: ttl, expires: expires, deleted: false, touched: now)
            return s.view.register(u.service, ttl: ttl, now: now)
        case "delete":
            s.entries[key] = Entry(origin: u.origin, seq: u.seq, record: u.service, ttl: nil, expires: nil, deleted: true, touched: now)
            return s.view.deregister(u.service)
        default:
            return []
        }
    }

    // MARK: GossipDelegate

    func localState(join: Bool) -> [UInt8] {
        let now = NIODeadline.now()
        let (updates, clock) = state.withLockedValue { s -> ([Update], UInt64) in
            var updates: [Update] = []
            for (_, e) in s.entries {
                if e.deleted {
                    updates.append(Update(origin: e.origin, seq: e.seq, op: "delete", ttlMilliseconds: nil, service: e.record))
                } else if let expires = e.expires {
                    let left = (expires - now).nanoseconds / 1_000_000
                    if left > 0 { updates.append(Update(origin: e.origin, seq: e.seq, op: "put", ttlMilliseconds: left, service: e.record)) }
                } else {
                    updates.append(Update(origin: e.origin, seq: e.seq, op: "put", ttlMilliseconds: nil, service: e.record))
                }
            }
            return (updates, s.serfClock)
        }
        let json = (try? Array(Self.encoder.encode(updates))) ?? []
        // serf's messagePushPull, which serf agents decode (ignoring the extra field).
        var out: [UInt8] = [Self.serfPushPullType]
        try? MessagePack.encode(.map([
            MessagePackPair(.string("LTime"), .uint(clock)),
            MessagePackPair(.string("StatusLTimes"), .map([])),
            MessagePackPair(.string("LeftMembers"), .array([])),
            MessagePackPair(.string("EventLTime"), .uint(0)),
            MessagePackPair(.string("Events"), .array([])),
            MessagePackPair(.string("QueryLTime"), .uint(0)),
            MessagePackPair(.string("MicroRecords"), .raw(json)),
        ]), into: &out)
        return out
    }

    func mergeRemoteState(_ bytes: [UInt8], join: Bool) {
        guard bytes.first == Self.serfPushPullType,
              let (value, _) = try? MessagePack.decode(bytes, from: 1, limits: .init(maxDepth: 8, maxCount: 1 << 16, maxBytes: 20 << 20)) else {
            logger.debug("ignored push-pull user state that is not serf's")
            return
        }
        if let clock = value["LTime"]?.unsignedValue {
            state.withLockedValue { $0.serfClock = max($0.serfClock, clock) }
        }
        guard let raw = value["MicroRecords"]?.bytesValue, !raw.isEmpty else { return }
        do {
            apply(try JSONDecoder().decode([Update].self, from: Data(raw)))
        } catch {
            logger.debug("ignored unreadable records in push-pull state", metadata: ["error": "\(error)"])
        }
    }

    func notifyMessage(_ payload: [UInt8]) {
        guard payload.starts(with: Self.userMessagePrefix) else { return }
        do {
            apply(try JSONDecoder().decode([Update].self, from: Data(payload.dropFirst(Self.userMessagePrefix.count))))
        } catch {
            logger.debug("ignored an unreadable record message", metadata: ["error": "\(error)"])
        }
    }

    func notifyMembership(_ event: GossipMemberEvent) {
        switch event {
        case .joined(let m):
            state.withLockedValue { _ = $0.gone.remove(m.name) }
        case .updated:
            break
        case .left(let m):
            let events = state.withLockedValue { s -> [RegistryEvent] in
                if s.gone.count >= 65_536 { s.gone.removeAll() }  // bounded; a stale record then lives at most its TTL
                s.gone.insert(m.name)
                var events: [RegistryEvent] = []
                let owned = s.entries.filter { $0.value.origin == m.name }
                for (key, e) in owned {
                    s.entries[key] = nil
                    if !e.deleted { events += s.view.deregister(e.record) }
                }
                return events
            }
            watchers.emit(events)
        }
    }
}
