@testable import ConsulClient
import Foundation
@testable import MicroConsul
import MicroCore
import Testing

@Suite struct ConsulTagsTests {
    static let greeter = ServiceRecord(
        name: "greeter", version: "1.0.0",
        endpoints: [Endpoint(name: "Greeter.Hello",
                             request: Value(name: "Request", type: "Request", values: [Value(name: "name", type: "string")]),
                             response: Value(name: "Response", type: "Response"), metadata: ["stream": "false"])],
        nodes: [Node(id: "greeter-1", address: "127.0.0.1:8080", metadata: ["protocol": "mucp", "registry": "consul"])])

    /// Golden vectors: the JSON as Go's json.Marshal writes go-micro's Endpoint, and each tag's hex as
    /// computed with Python's zlib (1.2.13, level 6, as Swift's Zlib.compress): `"e-" + zlib.compress(json).hex()`.
    @Test func tagsMatchGoldenVectors() {
        let json = String(decoding: ConsulTags.endpointJSON(Self.greeter.endpoints[0]), as: UTF8.self)
        #expect(json == #"{"name":"Greeter.Hello","request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},"response":{"name":"Response","type":"Response","values":null},"metadata":{"stream":"false"}}"#)
        let tags = ConsulTags.encode(Self.greeter, node: Self.greeter.nodes[0])
        #expect(tags == [
            "t-789cab562a28ca2fc94fcecf51b252ca2d4d2e50aa050046a906e2",
            "t-789cab562a4a4dcf2c2e29aa54b2524acecf2b2ecd51aa0500560f07c8",
            "e-789c558d410ac2301045eff2d7c103e402ba762b2e06fa156192b6c9549092bb9b4a0dcd6a86c79b792ba204c2e39c48633a5da83ac221715e980d7efd1bd79d38d867eac15bb46ef0b726ff4633b3a5577c1ec4b8a8967bd932791a6366d7d9d121d448f7c021d0641093edbc4628a1ea0fd1ea96f20505154af9",
            "v-789c33d433d033000002ce00ee",
        ])
        var withMeta = Self.greeter
        withMeta.metadata = ["team": "core"]
        let metaTags = ConsulTags.encode(withMeta, node: withMeta.nodes[0])
        #expect(metaTags.last == "m-789cab562a494dcc55b2524ace2f4a55aa05002852050b")
        #expect(ConsulTags.encode(withMeta, node: withMeta.nodes[0], serviceMetadata: false) == tags)
    }

    @Test func goldenTagsDecodeBack() throws {
        var withMeta = Self.greeter
        withMeta.metadata = ["team": "core"]
        let decoded = try ConsulTags.decode(ConsulTags.encode(withMeta, node: withMeta.nodes[0]) + ["user-tag", "x", ""])
        #expect(decoded.version == "1.0.0")
        #expect(decoded.endpoints == withMeta.endpoints)
        #expect(decoded.nodeMetadata == ["protocol": "mucp", "registry": "consul"])
        #expect(decoded.serviceMetadata == ["team": "core"])
    }

    @Test func roundTripsAwkwardText() throws {
        let text = "<a & b> \"q\" \\ \n\t\u{1} \u{2028} é 日本 🎉"
        let record = ServiceRecord(
            name: "svc", version: text, metadata: [text: text],
            endpoints: [Endpoint(name: text, request: nil, response: Value(name: text, type: text, values: [Value(name: "a", type: "b", values: [Value(name: "c", type: "d")])])),
                        Endpoint(name: "Second", metadata: ["subscriber": "true", "topic": "t"])],
            nodes: [Node(id: "n", address: "h:1", metadata: [text: text, "k": ""])])
        let decoded = try ConsulTags.decode(ConsulTags.encode(record, node: record.nodes[0]))
        #expect(decoded.version == text)
        #expect(decoded.endpoints == record.endpoints)
        #expect(decoded.nodeMetadata == record.nodes[0].metadata)
        #expect(decoded.serviceMetadata == record.metadata)
        let json = String(decoding: ConsulTags.endpointJSON(record.endpoints[0]), as: UTF8.self)
        #expect(json.hasPrefix(#"{"name":"\u003ca \u0026 b\u003e \"q\" \\ \n\t\u0001 \u2028 é 日本 🎉","request":null,"#))
    }

    @Test func readsLegacyPlainTags() throws {
        let decoded = try ConsulTags.decode([
            "v=2.0", #"e={"name":"Old.Call","request":null,"response":null,"metadata":null}"#, #"t={"a":"b"}"#,
        ])
        #expect(decoded.version == "2.0")
        #expect(decoded.endpoints == [Endpoint(name: "Old.Call")])
        #expect(decoded.nodeMetadata == ["a": "b"])
    }

    @Test(arguments: [
        "v-abc",                          // odd hex
        "e-zz",                           // not hex
        "t-789c00",                       // truncated zlib
        "e-" + ConsulTags.hex([1, 2, 3, 4]),   // not zlib
        "e-" + ConsulTags.hex(Zlib.compress(Array("not json".utf8))),
        "t-" + ConsulTags.hex(Zlib.compress(Array(#"{"a":1}"#.utf8))),
        "m-" + ConsulTags.hex(Zlib.compress(Array("[]".utf8))),
        "v-" + ConsulTags.hex(Zlib.compress([0xFF, 0xFE])),
    ])
    func malformedTagsThrowTyped(_ tag: String) {
        #expect { try ConsulTags.decode([tag]) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
        // After a valid version tag too (except a second version tag, which go-micro ignores).
        guard !tag.hasPrefix("v") else { return }
        #expect { try ConsulTags.decode(["v-789c33d433d033000002ce00ee", tag]) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
    }

    @Test func inflationIsBounded() {
        let bomb = "e-" + ConsulTags.hex(Zlib.compress([UInt8](repeating: UInt8(ascii: " "), count: 2 * 1024 * 1024)))
        #expect(bomb.count < 10_000)
        #expect { try ConsulTags.decode([bomb], maxTagBytes: 64 * 1024) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
        let long = "t=" + String(repeating: "x", count: 70_000)
        #expect { try ConsulTags.decode([long], maxTagBytes: 64 * 1024) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
    }

    @Test func deepNestingIsRefusedBeforeDecoding() throws {
        var deep = #"{"name":"x","request":"#
        for _ in 0..<5000 { deep += #"{"name":"a","type":"b","values":["# }
        deep += "null"
        for _ in 0..<5000 { deep += "]}" }
        deep += "}"
        let tag = "e-" + ConsulTags.hex(Zlib.compress(Array(deep.utf8)))
        #expect { try ConsulTags.decode([tag]) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
        #expect { try ConsulHealthEntry.decodeList(Array(("[" + deep + "]").utf8)) } throws: { ($0 as? ConsulError)?.code == .invalidResponse }
        // Brackets inside strings do not count; ordinary nesting passes.
        #expect(!JSONDepth.exceeds(Array(#"{"a":"[[[[[[[[[[[[\"[[[["}"#.utf8), limit: 2))
        let decoded = try ConsulTags.decode(ConsulTags.encode(Self.greeter, node: Self.greeter.nodes[0]))
        #expect(decoded.endpoints == Self.greeter.endpoints)
    }

    @Test func goDurations() {
        let cases: [(Duration, String)] = [
            (.seconds(1), "1s"), (.milliseconds(1500), "1.5s"), (.seconds(65), "1m5s"), (.seconds(90), "1m30s"),
            (.seconds(3600), "1h0m0s"), (.seconds(3725), "1h2m5s"), (.milliseconds(250), "250ms"), (.zero, "0s"),
            (.microseconds(1), "1µs"), (.nanoseconds(1500), "1.5µs"), (.seconds(60), "1m0s"), (.nanoseconds(7), "7ns"),
        ]
        for (d, s) in cases {
            #expect(GoFormat.duration(d) == s)
            #expect(GoFormat.parseDuration(s) == d, "\(s)")
        }
        #expect(GoFormat.parseDuration("") == nil)
        #expect(GoFormat.parseDuration("5") == nil)
        #expect(GoFormat.parseDuration("5x") == nil)
    }

    @Test func deregisterAfterIsTTLPlusSplayAtLeastAMinute() {
        let c = ConsulRegistryConfiguration()
        #expect(c.deregisterCriticalServiceAfter(ttl: .seconds(1)) == .seconds(65))
        #expect(c.deregisterCriticalServiceAfter(ttl: .seconds(59)) == .seconds(65))
        #expect(c.deregisterCriticalServiceAfter(ttl: .seconds(60)) == .seconds(65))
        #expect(c.deregisterCriticalServiceAfter(ttl: .seconds(90)) == .seconds(95))
    }

    @Test func addresses() {
        // A node's address splits as Go's net.SplitHostPort splits it; what does not split goes whole.
        func split(_ address: String) -> (String, Int) {
            let r = ConsulServiceRegistration(service: ServiceRecord(name: "s", version: "1"), node: Node(id: "n", address: address),
                                              ttl: nil, configuration: ConsulRegistryConfiguration())
            return (r.address, r.port)
        }
        #expect(split("127.0.0.1:8080") == ("127.0.0.1", 8080))
        #expect(split("[::1]:9") == ("::1", 9))
        #expect(split("host") == ("host", 0))
        #expect(split("::1") == ("::1", 0))
        #expect(ConsulHealthEntry(service: .init(id: "i", service: "s", address: "::1", port: 9)).address == "[::1]:9")
        #expect(ConsulHealthEntry(node: .init(address: "10.0.0.1"), service: .init(id: "i", service: "s", address: "", port: 9)).address == "10.0.0.1:9")
        #expect(ConsulRegistryConfiguration(addresses: nil).addresses == ["127.0.0.1:8500"])
        #expect(ConsulRegistryConfiguration(addresses: "").addresses == ["127.0.0.1:8500"])
        #expect(ConsulRegistryConfiguration(addresses: "a:1, http://b ,[::1]:7,").addresses == ["a:1", "b:8500", "[::1]:7"])
        // Entries that are not addresses are skipped, as go-micro skips them; a missing host is 127.0.0.1.
        #expect(ConsulRegistryConfiguration(addresses: "a b, https://c:1, ::1, :1").addresses == ["127.0.0.1:1"])
    }
}
