@testable import ConsulClient
import Foundation
import Logging
@testable import MicroConsul
import MicroCore
import MicroTestSupport
import Testing

@Suite struct ConsulDecodingTests {
    static let v1 = "v-789c33d433d033000002ce00ee"   // "1.0.0"
    static let mucp = "t-789cab562a28ca2fc94fcecf51b252ca2d4d2e50aa050046a906e2"   // {"protocol":"mucp"}
    static let hello = "e-789c558d410ac2301045eff2d7c103e402ba762b2e06fa156192b6c9549092bb9b4a0dcd6a86c79b792ba204c2e39c48633a5da83ac221715e980d7efd1bd79d38d867eac15bb46ef0b726ff4633b3a5577c1ec4b8a8967bd932791a6366d7d9d121d448f7c021d0641093edbc4628a1ea0fd1ea96f20505154af9"
    static let v2 = "v-" + ConsulTags.hex(Zlib.compress(Array("2.0.0".utf8)))

    /// One element shaped like the example answer of `GET /v1/health/service/:service` in Consul's API docs.
    static func entry(id: String, service: String = "greeter", address: String, nodeAddress: String = "10.1.10.12", port: Int,
                      tags: [String]?, status: String = "passing") -> String {
        let tagsJSON = tags.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? "null"
        return """
        {
          "Node": {"ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "foobar", "Address": "\(nodeAddress)", "Datacenter": "dc1",
                   "TaggedAddresses": {"lan": "\(nodeAddress)", "wan": "\(nodeAddress)"}, "Meta": {"instance_type": "t2.medium"}},
          "Service": {"ID": "\(id)", "Service": "\(service)", "Tags": \(tagsJSON), "Address": "\(address)",
                      "TaggedAddresses": {"lan_ipv4": {"Address": "\(address)", "Port": \(port)}},
                      "Meta": {"redis_version": "4.0"}, "Port": \(port), "Weights": {"Passing": 10, "Warning": 1}, "Namespace": "default"},
          "Checks": [
            {"Node": "foobar", "CheckID": "service:\(id)", "Name": "Service '\(service)' check", "Status": "\(status)", "Notes": "",
             "Output": "", "ServiceID": "\(id)", "ServiceName": "\(service)", "ServiceTags": [], "Namespace": "default"},
            {"Node": "foobar", "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing", "Notes": "", "Output": "",
             "ServiceID": "", "ServiceName": "", "ServiceTags": [], "Namespace": "default"}
          ]
        }
        """
    }

    static let decoder = ConsulRecordDecoder(maxTagBytes: 64 * 1024, logger: Logger(label: "test"))

    @Test func documentedHealthAnswerBecomesRecordsByVersion() throws {
        let body = "[" + [
            Self.entry(id: "greeter-1", address: "10.0.0.1", port: 8080, tags: [Self.mucp, Self.hello, Self.v1]),
            Self.entry(id: "greeter-2", address: "", nodeAddress: "10.0.0.2", port: 8081, tags: [Self.hello, Self.v1, "user-tag"]),
            Self.entry(id: "greeter-3", address: "fe80::1", port: 9000, tags: [Self.v2]),
            Self.entry(id: "greeter-bad", address: "10.0.0.4", port: 1, tags: [Self.v1, "e-00zz"]),
            Self.entry(id: "greeter-down", address: "10.0.0.5", port: 1, tags: [Self.v1], status: "critical"),
            Self.entry(id: "other-1", service: "other", address: "10.0.0.6", port: 1, tags: [Self.v1]),
            Self.entry(id: "plain", address: "10.0.0.7", port: 7, tags: nil),
        ].joined(separator: ",") + "]"
        let entries = try ConsulHealthEntry.decodeList(Array(body.utf8))
        #expect(entries.count == 7)
        let records = Self.decoder.records("greeter", from: entries)
        #expect(records.map(\.version) == ["", "1.0.0", "2.0.0"])
        let r1 = records[1]
        #expect(r1.name == "greeter")
        #expect(r1.endpoints == [Endpoint(name: "Greeter.Hello",
                                          request: Value(name: "Request", type: "Request", values: [Value(name: "name", type: "string")]),
                                          response: Value(name: "Response", type: "Response"), metadata: ["stream": "false"])])
        #expect(r1.nodes == [Node(id: "greeter-1", address: "10.0.0.1:8080", metadata: ["protocol": "mucp"]),
                             Node(id: "greeter-2", address: "10.0.0.2:8081", metadata: [:])])
        #expect(records[2].nodes == [Node(id: "greeter-3", address: "[fe80::1]:9000")])
        #expect(records[0].nodes == [Node(id: "plain", address: "10.0.0.7:7")])
    }

    @Test func documentedCatalogAnswer() throws {
        // The example answer of `GET /v1/catalog/services`.
        let body = #"{"consul": [], "redis": [], "postgresql": ["primary", "secondary"], "untagged": null}"#
        let map = try ConsulHealthEntry.decodeCatalog(Array(body.utf8))
        #expect(map == ["consul": [], "redis": [], "postgresql": ["primary", "secondary"], "untagged": []])
    }

    @Test(arguments: ["", "{}", "[1]", #"[{"Service": {"ID": 5}}]"#, "null", "[{\"Node\":"])
    func malformedHealthAnswersThrowTyped(_ body: String) {
        #expect { try ConsulHealthEntry.decodeList(Array(body.utf8)) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
    }

    @Test func serviceViewReportsCreateUpdateDelete() {
        var view = ConsulServiceView(name: "s")
        let n1 = Node(id: "a", address: "h:1"), n2 = Node(id: "b", address: "h:2")
        let r = ServiceRecord(name: "s", version: "1", nodes: [n1])
        #expect(view.apply([r]).map(\.action) == [.create])
        #expect(view.apply([r]).isEmpty)
        var r2 = r
        r2.nodes = [n1, n2]
        #expect(view.apply([r2]).map(\.action) == [.update])
        var changed = r2
        changed.nodes[1].metadata = ["x": "y"]
        #expect(view.apply([changed]).map(\.action) == [.update])
        #expect(view.apply([r]).map(\.action) == [.update])
        let moved = ServiceRecord(name: "s", version: "2", nodes: [n1])
        #expect(view.apply([moved]).map(\.action) == [.delete, .create])
        let gone = view.apply([])
        #expect(gone.map(\.action) == [.delete])
        #expect(gone.first?.service.nodes.map(\.id) == ["a"])
        #expect(view.isEmpty)
    }

    @Test func blockingIndexRules() {
        #expect(ConsulWatcher.next(index: 10, answer: 12) == 12)
        #expect(ConsulWatcher.next(index: 10, answer: 10) == 10)
        #expect(ConsulWatcher.next(index: 10, answer: 3) == 0)
        #expect(ConsulWatcher.next(index: 0, answer: 0) == 1)
    }

    /// Seeded mutations of valid answers and tags: decoders never crash, and every failure is a typed
    /// ConsulError; mutated answers that still decode give records whose nodes all come from the input.
    @Test func fuzzDecoders() throws {
        let decoder = ConsulRecordDecoder(maxTagBytes: 64 * 1024, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        var rng = SeededGenerator(seed: 0xC0_05_01)
        let valid = "[" + [
            Self.entry(id: "greeter-1", address: "10.0.0.1", port: 8080, tags: [Self.mucp, Self.hello, Self.v1]),
            Self.entry(id: "greeter-3", address: "10.0.0.3", port: 9000, tags: [Self.v2]),
        ].joined(separator: ",") + "]"
        let base = Array(valid.utf8)
        var decodedCount = 0
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 4 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.remove(at: i)
                case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                default: bytes[i] = Array("0123456789abcdef{}[]\",:".utf8)[Int(rng.next() % 23)]
                }
                if bytes.isEmpty { bytes = [0] }
            }
            do {
                let entries = try ConsulHealthEntry.decodeList(bytes)
                decodedCount += 1
                _ = decoder.records("greeter", from: entries)
            } catch {
                #expect(error.code == .invalidResponse)
            }
            do { _ = try ConsulHealthEntry.decodeCatalog(bytes) } catch { #expect(error.code == .invalidResponse) }
        }
        #expect(decodedCount > 0)
        // Tags: mutate the hex and the payload.
        for tag in [Self.hello, Self.mucp, Self.v1, "m-789cab562a494dcc55b2524ace2f4a55aa05002852050b"] {
            for _ in 0..<1500 {
                var t = Array(tag.utf8)
                let i = 2 + Int(rng.next() % UInt64(t.count - 2))
                switch rng.next() % 3 {
                case 0: t[i] = Array("0123456789abcdef".utf8)[Int(rng.next() % 16)]
                case 1: t.remove(at: i)
                default: t.insert(Array("0123456789abcdef".utf8)[Int(rng.next() % 16)], at: i)
                }
                do { _ = try ConsulTags.decode([String(decoding: t, as: UTF8.self)], maxTagBytes: 4096) } catch {
                    #expect(error.code == .invalidResponse)
                }
            }
        }
        // Random bytes as tags.
        for _ in 0..<2000 {
            let n = Int(rng.next() % 40)
            let t = String(decoding: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, as: UTF8.self)
            let kind = ["e-", "t-", "v-", "m-", "e=", "t=", ""][Int(rng.next() % 7)]
            do { _ = try ConsulTags.decode([kind + t], maxTagBytes: 4096) } catch { #expect(error.code == .invalidResponse) }
        }
    }
}

