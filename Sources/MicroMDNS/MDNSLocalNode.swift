#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MicroAddress
import MicroCore

/// One node this process registered, with the records it announces and answers for:
/// go-micro's instance, the service's `_services` wildcard entry and (optionally) a DNS-SD instance.
struct MDNSLocalNode: Sendable {
    /// `<node id>.<service>.micro.`, the key.
    let instance: DNSName
    /// The service with this one node.
    let record: ServiceRecord
    /// The DNS TTL in seconds.
    let ttl: UInt32
    /// go-micro's instance: PTR service → instance, SRV, TXT, A/AAAA (on the instance's own name).
    let goMicro: [DNSResourceRecord]
    /// The wildcard entry that makes go-micro's ListServices work: PTR `_services` → `<service>._services`, SRV port 9999, TXT, A 0.0.0.0.
    let wildcard: [DNSResourceRecord]
    /// The DNS-SD instance: PTR type → instance, PTR meta → type, SRV, TXT `name=`/`version=`/`id=`/node metadata, A/AAAA.
    let dnsSD: [DNSResourceRecord]

    /// Where a node listens.
    enum Host: Hashable, Sendable {
        case ipv4([UInt8])
        case ipv6([UInt8])
        case name(String)
    }

    /// Reads a node's address as ``HostPort`` does; nil when it is not `host:port` (an announced
    /// address needs both) or the port is 0.
    static func parse(address: String) -> (host: Host, port: UInt16)? {
        guard let parsed = try? HostPort(parsing: address), let port = UInt16(exactly: parsed.port), port > 0 else { return nil }
        if let v4 = ipv4(parsed.host) { return (.ipv4(v4), port) }
        if let v6 = ipv6(parsed.host) { return (.ipv6(v6), port) }
        guard !parsed.host.contains(":") else { return nil }
        return (.name(parsed.host), port)
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        var a = in_addr()
        guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var a = in6_addr()
        guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    /// The records of `node` of `service`, announced with `ttl` seconds.
    init(service: ServiceRecord, node: Node, ttl: UInt32, names: MDNSNames, configuration: MDNSRegistryConfiguration) throws(MDNSError) {
        guard let (host, port) = Self.parse(address: node.address) else {
            throw MDNSError(.invalidArgument, "node \(node.id): address \(node.address) is not host:port")
        }
        var record = service
        record.nodes = [node]
        self.record = record
        self.ttl = ttl
        let serviceName = try names.service(service.name)
        instance = try names.instance(node: node.id, service: service.name)
        let payload = MDNSTXTPayload(service: service.name, version: service.version, endpoints: service.endpoints,
                                     metadata: node.metadata, serviceMetadata: service.metadata)
        let txt = try payload.txtStrings()

        func addressRecords(_ owner: DNSName) -> [DNSResourceRecord] {
            switch host {
            case .ipv4(let a): [DNSResourceRecord(name: owner, ttl: ttl, cacheFlush: true, data: .a(a))]
            case .ipv6(let a): [DNSResourceRecord(name: owner, ttl: ttl, cacheFlush: true, data: .aaaa(a))]
            case .name: []
            }
        }

        // go-micro: the SRV target is the instance itself, which owns the address record, so a reader
        // (go-micro's client included) finds everything of one node under one name and in one packet.
        let target: DNSName
        switch host {
        case .name(let h):
            do { target = try DNSName(h) } catch { throw MDNSError(.invalidArgument, "host \(h): \(error)") }
        default:
            target = instance
        }
        goMicro = [
            DNSResourceRecord(name: serviceName, ttl: ttl, data: .ptr(instance)),
            DNSResourceRecord(name: instance, ttl: ttl, cacheFlush: true, data: .srv(priority: 0, weight: 0, port: port, target: target)),
            DNSResourceRecord(name: instance, ttl: ttl, cacheFlush: true, data: .txt(txt)),
        ] + addressRecords(instance)

        let wildcardName = try names.wildcard(service: service.name)
        wildcard = [
            DNSResourceRecord(name: names.services, ttl: ttl, data: .ptr(wildcardName)),
            DNSResourceRecord(name: wildcardName, ttl: ttl, cacheFlush: true, data: .srv(priority: 0, weight: 0, port: 9999, target: wildcardName)),
            DNSResourceRecord(name: wildcardName, ttl: ttl, cacheFlush: true, data: .txt([])),
            DNSResourceRecord(name: wildcardName, ttl: ttl, cacheFlush: true, data: .a([0, 0, 0, 0])),
        ]

        if configuration.announceDNSSD {
            let sdInstance = try names.dnsSDInstance(node: node.id)
            let sdHost: DNSName
            do {
                switch host {
                case .ipv4(let a): sdHost = try DNSName(label: "micro-" + a.map(String.init).joined(separator: "-"), names.local)
                case .ipv6(let a): sdHost = try DNSName(label: "micro-" + a.map { String($0, radix: 16) }.joined(separator: "-"), names.local)
                case .name(let h): sdHost = try DNSName(labels: Array(try DNSName(h).labels.prefix(1)) + names.local.labels)
                }
            } catch {
                throw MDNSError(.invalidArgument, "host of \(node.address): \(error)")
            }
            var pairs: [[UInt8]] = [Array("name=\(service.name)".utf8), Array("version=\(service.version)".utf8), Array("id=\(node.id)".utf8)]
            var budget = 1300
            for (k, v) in node.metadata.sorted(by: { $0.key < $1.key }) where !k.isEmpty && !k.contains("=") {
                let pair = Array("\(k)=\(v)".utf8)
                guard pair.count <= 255, pair.count < budget else { continue }
                budget -= pair.count + 1
                pairs.append(pair)
            }
            pairs = pairs.map { Array($0.prefix(255)) }
            var sd = [
                DNSResourceRecord(name: names.dnsSDType, ttl: ttl, data: .ptr(sdInstance)),
                DNSResourceRecord(name: names.dnsSDMetaQuery, ttl: ttl, data: .ptr(names.dnsSDType)),
                DNSResourceRecord(name: sdInstance, ttl: ttl, cacheFlush: true, data: .srv(priority: 0, weight: 0, port: port, target: sdHost)),
                DNSResourceRecord(name: sdInstance, ttl: ttl, cacheFlush: true, data: .txt(pairs)),
            ]
            switch host {
            case .ipv4(let a): sd.append(DNSResourceRecord(name: sdHost, ttl: ttl, cacheFlush: true, data: .a(a)))
            case .ipv6(let a): sd.append(DNSResourceRecord(name: sdHost, ttl: ttl, cacheFlush: true, data: .aaaa(a)))
            case .name: break
            }
            dnsSD = sd
        } else {
            dnsSD = []
        }

        for group in [goMicro, wildcard, dnsSD] where !group.isEmpty {
            let size: Int
            do { size = try DNSMessageEncoder.encode(.response(answers: group)).count } catch {
                throw MDNSError(.invalidArgument, "node \(node.id): \(error)")
            }
            guard size <= configuration.maxPacketBytes else {
                throw MDNSError(.recordTooLarge, "node \(node.id): \(size) bytes, more than \(configuration.maxPacketBytes)")
            }
        }
    }

    /// The groups of records, each sent as one packet.
    var groups: [[DNSResourceRecord]] { [goMicro, wildcard, dnsSD].filter { !$0.isEmpty } }

    /// The goodbye packets (RFC 6762 §10.1): every record of the node with TTL 0. The wildcard only when
    /// `lastOfService`; a DNS-SD host's address record never (other nodes may share it; it expires).
    func goodbyeGroups(lastOfService: Bool) -> [[DNSResourceRecord]] {
        func zero(_ records: [DNSResourceRecord]) -> [DNSResourceRecord] { records.map { var r = $0; r.ttl = 0; return r } }
        var groups = [zero(goMicro)]
        if lastOfService { groups.append(zero(wildcard)) }
        // dnsSD is [type PTR, meta PTR, SRV, TXT, address]: keep the meta PTR and the host's address,
        // which other nodes may still need.
        if dnsSD.count >= 4 { groups.append(zero([dnsSD[0], dnsSD[2], dnsSD[3]])) }
        return groups
    }

    /// Whether the announced records are the same (a heartbeat rather than a change).
    func sameRecords(as other: MDNSLocalNode) -> Bool {
        goMicro == other.goMicro && dnsSD == other.dnsSD && wildcard == other.wildcard
    }
}
