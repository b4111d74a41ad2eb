import MicroCore
import NIOCore

/// What the registry learned from responses on the network: go-micro instances (SRV + TXT + address)
/// in its domain and the `_services` wildcard entries, turned into registry records with the expiry
/// their DNS TTL gives, and the `create`/`update`/`delete` events each change produces.
///
/// A value type fed with decoded messages and the time, so it is tested without a network.
struct MDNSPeerCache: Sendable {
    private struct Instance: Sendable {
        var srv: (port: UInt16, target: DNSName, expires: NIODeadline)?
        var txt: (strings: [[UInt8]], expires: NIODeadline)?
        /// When the last SRV or TXT arrived and its TTL, for refresh queries (RFC 6762 §5.2).
        var received: NIODeadline
        var ttl: UInt32
        var refreshesSent = 0
        /// The record this instance is in the view as (nil: not complete or not valid).
        var registered: ServiceRecord?
        /// The decoded TXT, kept while the strings stay the same.
        var decoded: (strings: [[UInt8]], payload: MDNSTXTPayload?)?
        var lastFollowUp: NIODeadline?
    }

    private let names: MDNSNames
    private let maxPayloadBytes: Int
    private let maxInstances: Int
    private var instances: [DNSName: Instance] = [:]
    private var hosts: [DNSName: [(address: DNSRecordData, expires: NIODeadline)]] = [:]
    private var wildcards: [String: NIODeadline] = [:]
    private var view = RegistryState()
    /// TXT payloads that failed to decode (for tests and logs).
    private(set) var malformedTXT = 0
    /// Instances dropped because the cache was full.
    private(set) var dropped = 0

    init(names: MDNSNames, maxPayloadBytes: Int, maxInstances: Int) {
        self.names = names
        self.maxPayloadBytes = maxPayloadBytes
        self.maxInstances = maxInstances
    }

    /// Takes in a response's records (all sections); returns the events. Queries and messages with a
    /// non-zero opcode or response code are ignored (RFC 6762 §18).
    mutating func ingest(_ message: DNSMessage, now: NIODeadline = .now()) -> [RegistryEvent] {
        guard message.isResponse, message.opcode == 0, message.responseCode == 0 else { return [] }
        // go-micro's address records are on the machine's host name, outside the domain.
        let records = message.allRecords.filter {
            $0.recordClass == 1 && ($0.name.hasSuffix(names.domain) || $0.type == .a || $0.type == .aaaa)
        }
        guard !records.isEmpty else { return [] }
        // Addresses first, so an instance and its address in one packet resolve together.
        for r in records {
            switch r.data {
            case .a, .aaaa:
                guard hosts[r.name] != nil || hosts.count < 2 * maxInstances else { continue }
                var list = hosts[r.name] ?? []
                if r.cacheFlush { list.removeAll { $0.address.type == r.type } }
                list.removeAll { $0.address == r.data }
                if r.ttl > 0 { list.append((r.data, now + .seconds(Int64(r.ttl)))) }
                if list.count > 16 { list.removeFirst(list.count - 16) }
                hosts[r.name] = list.isEmpty ? nil : list
            default:
                break
            }
        }
        var events: [RegistryEvent] = []
        var touched: [DNSName] = []
        // An address that completes an instance waiting for it.
        let addressed = Set(records.filter { ($0.type == .a || $0.type == .aaaa) && $0.ttl > 0 }.map(\.name))
        if !addressed.isEmpty {
            for (name, i) in instances where i.registered == nil {
                if let target = i.srv?.target, addressed.contains(target) { touched.append(name) }
            }
        }
        for r in records {
            switch r.data {
            case .ptr(let target):
                if r.name == names.services {
                    guard target.hasSuffix(names.services), target.labels.count > names.services.labels.count else { continue }
                    let service = target.labels.dropLast(names.services.labels.count).map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
                    if r.ttl == 0 { wildcards[service] = nil } else if wildcards[service] != nil || wildcards.count < maxInstances {
                        wildcards[service] = now + .seconds(Int64(r.ttl))
                    }
                } else if r.name.labels.count > names.domain.labels.count, target.hasSuffix(r.name),
                          target.labels.count > r.name.labels.count, !isWildcardEntry(target) {
                    if r.ttl == 0 {
                        events += remove(target)
                    } else if instances[target] == nil {
                        guard admit() else { continue }
                        instances[target] = Instance(received: now, ttl: r.ttl)
                    }
                }
            case .srv(_, _, let port, let target):
                guard !isWildcardEntry(r.name), r.name.labels.count > names.domain.labels.count + 1 else { continue }
                if r.ttl == 0 { events += remove(r.name); continue }
                guard instances[r.name] != nil || admit() else { continue }
                var i = instances[r.name] ?? Instance(received: now, ttl: r.ttl)
                i.srv = (port, target, now + .seconds(Int64(r.ttl)))
                i.received = now
                i.ttl = r.ttl
                i.refreshesSent = 0
                instances[r.name] = i
                touched.append(r.name)
            case .txt(let strings):
                guard !isWildcardEntry(r.name), r.name.labels.count > names.domain.labels.count + 1 else { continue }
                if r.ttl == 0 { events += remove(r.name); continue }
                guard instances[r.name] != nil || admit() else { continue }
                var i = instances[r.name] ?? Instance(received: now, ttl: r.ttl)
                i.txt = (strings, now + .seconds(Int64(r.ttl)))
                i.received = now
                i.ttl = r.ttl
                i.refreshesSent = 0
                instances[r.name] = i
                touched.append(r.name)
            default:
                break
            }
        }
        for name in touched { events += materialize(name, now: now) }
        return events
    }

    private func isWildcardEntry(_ name: DNSName) -> Bool { name.hasSuffix(names.services) }

    private mutating func admit() -> Bool {
        if instances.count < maxInstances { return true }
        dropped += 1
        return false
    }

    /// Drops an instance (a goodbye) and its node.
    private mutating func remove(_ name: DNSName) -> [RegistryEvent] {
        guard let i = instances.removeValue(forKey: name), let r = i.registered else { return [] }
        return view.deregister(r)
    }

    /// Puts a complete instance into the view (or takes it out when it stopped being valid).
    private mutating func materialize(_ name: DNSName, now: NIODeadline) -> [RegistryEvent] {
        guard var i = instances[name], let srv = i.srv, let txt = i.txt else { return [] }
        let payload: MDNSTXTPayload?
        if let d = i.decoded, d.strings == txt.strings {
            payload = d.payload
        } else {
            do { payload = try MDNSTXTPayload.decode(txt.strings, maxPayloadBytes: maxPayloadBytes) } catch {
                malformedTXT += 1
                payload = nil
            }
            i.decoded = (txt.strings, payload)
        }
        var events: [RegistryEvent] = []
        var record: ServiceRecord?
        if let payload, !payload.service.isEmpty, let id = nodeID(name, service: payload.service), let address = address(srv.target, port: srv.port) {
            record = ServiceRecord(name: payload.service, version: payload.version, metadata: payload.serviceMetadata,
                                   endpoints: payload.endpoints, nodes: [Node(id: id, address: address, metadata: payload.metadata)])
        }
        if let old = i.registered, record.map({ $0.name != old.name || $0.version != old.version }) ?? true {
            events += view.deregister(old)
        }
        i.registered = record
        instances[name] = i
        if let record {
            let expires = min(srv.expires, txt.expires)
            let ttl = Duration.nanoseconds(max(0, (expires - now).nanoseconds))
            events += view.register(record, ttl: ttl, now: now)
        }
        return events
    }

    /// The node id: the instance name without `.<service>.<domain>.` (nil when it does not end so).
    private func nodeID(_ instance: DNSName, service: String) -> String? {
        guard let suffix = try? names.service(service), instance.hasSuffix(suffix), instance.labels.count > suffix.labels.count else { return nil }
        return instance.labels.dropLast(suffix.labels.count).map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
    }

    /// `host:port` from the target's address record (IPv4 preferred, as go-micro does), else from a
    /// target outside the domain taken as a host name; nil when no address is known yet.
    private func address(_ target: DNSName, port: UInt16) -> String? {
        let list = hosts[target] ?? []
        if let v4 = list.compactMap({ r -> [UInt8]? in if case .a(let a) = r.address { return a } else { return nil } }).last {
            return v4.map(String.init).joined(separator: ".") + ":\(port)"
        }
        if let v6 = list.compactMap({ r -> [UInt8]? in if case .aaaa(let a) = r.address { return a } else { return nil } }).last {
            return "[\(Self.ipv6Text(v6))]:\(port)"
        }
        guard !target.hasSuffix(names.domain), !target.labels.isEmpty else { return nil }
        return String(target.description.dropLast()) + ":\(port)"
    }

    static func ipv6Text(_ a: [UInt8]) -> String {
        let groups = stride(from: 0, to: 16, by: 2).map { Int(a[$0]) << 8 | Int(a[$0 + 1]) }
        // The longest run of zero groups (two or more) becomes "::" (RFC 5952).
        var best = (start: -1, count: 0), run = (start: -1, count: 0)
        for (i, g) in groups.enumerated() {
            if g == 0 { run = run.start < 0 ? (i, 1) : (run.start, run.count + 1) } else { run = (-1, 0) }
            if run.count > best.count { best = run }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.count >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":"), tail = hex[(best.start + best.count)...].joined(separator: ":")
        return head + "::" + tail
    }

    /// Drops what expired; returns the events.
    mutating func expire(now: NIODeadline = .now()) -> [RegistryEvent] {
        let events = view.expire(now: now)
        for (name, i) in instances {
            let srvGone = i.srv.map { $0.expires <= now } ?? false
            let txtGone = i.txt.map { $0.expires <= now } ?? false
            let stale = i.srv == nil && i.txt == nil && now - i.received > .seconds(Int64(max(i.ttl, 1)))
            if srvGone || txtGone || stale {
                instances[name] = nil
            }
        }
        for (name, list) in hosts {
            let live = list.filter { $0.expires > now }
            hosts[name] = live.isEmpty ? nil : live
        }
        wildcards = wildcards.filter { $0.value > now }
        return events
    }

    /// Questions to send now: refreshes of records at 80, 85, 90 and 95 % of their TTL (RFC 6762 §5.2),
    /// and follow-ups for instances known by a PTR only (at most once a second each).
    mutating func dueQuestions(now: NIODeadline = .now()) -> [DNSQuestion] {
        var questions: [DNSQuestion] = []
        for (name, var i) in instances {
            if i.srv == nil || i.txt == nil {
                if i.lastFollowUp.map({ now - $0 >= .seconds(1) }) ?? true {
                    i.lastFollowUp = now
                    instances[name] = i
                    questions.append(DNSQuestion(name: name, type: .any))
                }
                continue
            }
            guard i.registered != nil, i.refreshesSent < 4 else { continue }
            let due = i.received + .nanoseconds(Int64(i.ttl) * 10_000_000 * Int64(80 + 5 * i.refreshesSent))
            if now >= due {
                i.refreshesSent += 1
                instances[name] = i
                questions.append(DNSQuestion(name: name, type: .any))
            }
        }
        return questions
    }

    /// Every version of `service` with its live nodes.
    func get(_ service: String) -> [ServiceRecord] { view.get(service) }

    /// Every service with nodes, plus names only known from `_services` entries (as bare records).
    func list() -> [ServiceRecord] {
        var records = view.list()
        let known = Set(records.map(\.name))
        for name in wildcards.keys.sorted() where !known.contains(name) {
            records.append(ServiceRecord(name: name, version: ""))
        }
        return records
    }

    /// How many instances are cached.
    var instanceCount: Int { instances.count }
}
