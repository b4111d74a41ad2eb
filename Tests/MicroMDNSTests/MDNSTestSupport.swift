import Foundation
import MicroCore
import NIOCore
@testable import MicroMDNS


enum Fixtures {
    static let names = try! MDNSNames(domain: "micro.", dnsSDServiceType: "_micro._tcp")

    static func record(_ name: String = "greeter", version: String = "1.0.0", node: String = "greeter-1",
                       address: String = "127.0.0.1:8080", meta: [String: String] = ["protocol": "mucp"]) -> ServiceRecord {
        ServiceRecord(
            name: name, version: version, metadata: ["team": "core"],
            endpoints: [Endpoint(name: "Greeter.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                 response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
            nodes: [Node(id: node, address: address, metadata: meta)])
    }

    static func local(_ record: ServiceRecord, ttl: UInt32 = 120) throws -> MDNSLocalNode {
        try MDNSLocalNode(service: record, node: record.nodes[0], ttl: ttl, names: names, configuration: MDNSRegistryConfiguration())
    }

    /// Real packets: every announcement, goodbye and a few queries.
    static func packets() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        let nodes = [
            try local(record()),
            try local(record("go.micro.srv.big", version: "2", node: "node.with.dots", address: "[::1]:9090",
                             meta: Dictionary(uniqueKeysWithValues: (0..<30).map { ("key\($0)", String(repeating: "v", count: $0 * 3)) }))),
            try local(record("named", node: "n-1", address: "localhost:7000")),
        ]
        for n in nodes {
            for g in n.groups { out.append(try DNSMessageEncoder.encode(.response(answers: g))) }
            for g in n.goodbyeGroups(lastOfService: true) { out.append(try DNSMessageEncoder.encode(.response(answers: g))) }
            out.append(try DNSMessageEncoder.encode(.response(answers: [n.goMicro[0]], additionals: Array(n.goMicro.dropFirst()))))
        }
        var q = DNSMessage.query([DNSQuestion(name: try names.service("greeter"), type: .ptr),
                                  DNSQuestion(name: names.dnsSDType, type: .ptr, unicastResponse: true)],
                                 knownAnswers: [nodes[0].dnsSD[0]])
        q.id = 0x1234
        out.append(try DNSMessageEncoder.encode(q))
        return out
    }
}
