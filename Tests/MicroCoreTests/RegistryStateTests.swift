import Foundation
import MicroCore
import NIOCore
import Testing

func record(_ name: String, version: String = "1.0.0", metadata: [String: String] = [:], _ nodes: Node...) -> ServiceRecord {
    ServiceRecord(name: name, version: version, metadata: metadata, nodes: nodes)
}

func node(_ id: String, _ address: String? = nil, _ metadata: [String: String] = [:]) -> Node {
    Node(id: id, address: address ?? "\(id).local:1", metadata: metadata)
}

@Suite struct RegistryStateTests {
    @Test func firstRegistrationCreates() throws {
        var state = RegistryState()
        let events = state.register(record("greeter", node("g1")), ttl: nil)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.action == .create)
        #expect(event.service.name == "greeter")
        #expect(event.service.nodes.map(\.id) == ["g1"])
        #expect(state.get("greeter") == [record("greeter", node("g1"))])
    }

    @Test func heartbeatProducesNoEvent() {
        var state = RegistryState()
        _ = state.register(record("greeter", node("g1")), ttl: .seconds(30))
        #expect(state.register(record("greeter", node("g1")), ttl: .seconds(30)).isEmpty)
        #expect(state.get("greeter").first?.nodes.count == 1)
    }

    @Test func newNodeUpdatesWithAllNodes() throws {
        var state = RegistryState()
        _ = state.register(record("greeter", node("g1")), ttl: nil)
        let events = state.register(record("greeter", node("g2")), ttl: nil)
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.action == .update)
        #expect(event.service.nodes.map(\.id) == ["g1", "g2"])
        #expect(state.get("greeter").first?.nodes.map(\.id) == ["g1", "g2"])
    }

    @Test func changedNodeOrRecordDetailsUpdate() throws {
        var state = RegistryState()
        _ = state.register(record("greeter", node("g1", "10.0.0.1:1")), ttl: nil)
        let moved = state.register(record("greeter", node("g1", "10.0.0.2:1")), ttl: nil)
        #expect(moved.map(\.action) == [.update])
        #expect(state.get("greeter").first?.nodes.first?.address == "10.0.0.2:1")
        let meta = state.register(record("greeter", metadata: ["owner": "me"], node("g1", "10.0.0.2:1")), ttl: nil)
        #expect(meta.map(\.action) == [.update])
        #expect(meta.first?.service.metadata == ["owner": "me"])
        #expect(state.get("greeter").first?.metadata == ["owner": "me"])
    }

    @Test func versionsAreSeparateRecords() {
        var state = RegistryState()
        #expect(state.register(record("greeter", version: "2.0.0", node("b")), ttl: nil).map(\.action) == [.create])
        #expect(state.register(record("greeter", version: "1.0.0", node("a")), ttl: nil).map(\.action) == [.create])
        let versions = state.get("greeter")
        #expect(versions.map(\.version) == ["1.0.0", "2.0.0"])
        #expect(versions.map { $0.nodes.map(\.id) } == [["a"], ["b"]])
    }

    @Test func listIsSortedByName() {
        var state = RegistryState()
        _ = state.register(record("zeta", node("z")), ttl: nil)
        _ = state.register(record("alpha", node("a")), ttl: nil)
        _ = state.register(record("mid", node("m")), ttl: nil)
        #expect(state.list().map(\.name) == ["alpha", "mid", "zeta"])
        #expect(state.get("unknown").isEmpty)
    }

    @Test func deregisterOneOfTwoUpdatesThenLastDeletes() throws {
        var state = RegistryState()
        _ = state.register(record("greeter", node("g1"), node("g2")), ttl: nil)
        let first = state.deregister(record("greeter", node("g1")))
        #expect(first.map(\.action) == [.update])
        #expect(first.first?.service.nodes.map(\.id) == ["g2"])
        let last = state.deregister(record("greeter", node("g2")))
        let event = try #require(last.first)
        #expect(last.count == 1)
        #expect(event.action == .delete)
        #expect(event.service.nodes.map(\.id) == ["g2"])
        #expect(state.get("greeter").isEmpty)
        #expect(state.list().isEmpty)
    }

    @Test func deregisterWithoutNodesRemovesTheWholeVersion() throws {
        var state = RegistryState()
        _ = state.register(record("greeter", node("g1"), node("g2")), ttl: nil)
        _ = state.register(record("greeter", version: "2.0.0", node("g3")), ttl: nil)
        let events = state.deregister(record("greeter"))
        let event = try #require(events.first)
        #expect(event.action == .delete)
        #expect(Set(event.service.nodes.map(\.id)) == ["g1", "g2"])
        #expect(state.get("greeter").map(\.version) == ["2.0.0"])
    }

    @Test func deregisterOfUnknownIsQuiet() {
        var state = RegistryState()
        #expect(state.deregister(record("nobody", node("x"))).isEmpty)
        _ = state.register(record("greeter", node("g1")), ttl: nil)
        #expect(state.deregister(record("greeter", node("not-there"))).isEmpty)
        #expect(state.deregister(record("greeter", version: "9", node("g1"))).isEmpty)
        #expect(state.get("greeter").first?.nodes.count == 1)
    }

    @Test func ttlExpiryDeletes() throws {
        var state = RegistryState()
        let t0 = NIODeadline.now()
        _ = state.register(record("greeter", node("g1")), ttl: .seconds(10), now: t0)
        #expect(state.expire(now: t0 + .seconds(5)).isEmpty)
        #expect(state.get("greeter").count == 1)
        let events = state.expire(now: t0 + .seconds(11))
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.action == .delete)
        #expect(event.service.nodes.map(\.id) == ["g1"])
        #expect(state.get("greeter").isEmpty)
        #expect(state.expire(now: t0 + .seconds(20)).isEmpty)
    }

    @Test func heartbeatExtendsTTL() {
        var state = RegistryState()
        let t0 = NIODeadline.now()
        _ = state.register(record("greeter", node("g1")), ttl: .seconds(10), now: t0)
        _ = state.register(record("greeter", node("g1")), ttl: .seconds(10), now: t0 + .seconds(8))
        #expect(state.expire(now: t0 + .seconds(12)).isEmpty)
        #expect(state.get("greeter").first?.nodes.count == 1)
        #expect(state.expire(now: t0 + .seconds(19)).map(\.action) == [.delete])
    }

    @Test func subSecondTTL() {
        var state = RegistryState()
        let t0 = NIODeadline.now()
        _ = state.register(record("greeter", node("g1")), ttl: .milliseconds(1500), now: t0)
        #expect(state.expire(now: t0 + .milliseconds(1400)).isEmpty)
        #expect(state.expire(now: t0 + .milliseconds(1600)).map(\.action) == [.delete])
    }

    @Test func expiryOfOneNodeUpdatesAndNilTTLNeverExpires() throws {
        var state = RegistryState()
        let t0 = NIODeadline.now()
        _ = state.register(record("greeter", node("forever")), ttl: nil, now: t0)
        _ = state.register(record("greeter", node("brief")), ttl: .seconds(1), now: t0)
        let events = state.expire(now: t0 + .seconds(3600))
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.action == .update)
        #expect(event.service.nodes.map(\.id) == ["forever"])
        #expect(state.get("greeter").first?.nodes.map(\.id) == ["forever"])
    }

    @Test func expiryAcrossServices() {
        var state = RegistryState()
        let t0 = NIODeadline.now()
        _ = state.register(record("a", node("a1")), ttl: .seconds(1), now: t0)
        _ = state.register(record("b", node("b1")), ttl: .seconds(1), now: t0)
        _ = state.register(record("c", node("c1")), ttl: .seconds(100), now: t0)
        let events = state.expire(now: t0 + .seconds(2))
        #expect(Set(events.map(\.service.name)) == ["a", "b"])
        #expect(events.allSatisfy { $0.action == .delete })
        #expect(state.list().map(\.name) == ["c"])
    }

    @Test func manyNodesKeepRegistrationOrder() {
        var state = RegistryState()
        let ids = (0..<50).map { "n\($0)" }
        for id in ids { _ = state.register(record("big", node(id)), ttl: nil) }
        #expect(state.get("big").first?.nodes.map(\.id) == ids)
        _ = state.deregister(record("big", node("n10"), node("n20")))
        #expect(state.get("big").first?.nodes.map(\.id) == ids.filter { $0 != "n10" && $0 != "n20" })
    }

    @Test func recordRoundTripsAsGoMicroJSON() throws {
        let r = ServiceRecord(
            name: "greeter", version: "1.0.0", metadata: ["k": "v"],
            endpoints: [Endpoint(name: "Greeter.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                 response: nil, metadata: ["stream": "false"])],
            nodes: [Node(id: "greeter-1", address: "127.0.0.1:8080", metadata: ["protocol": "mucp"])])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(r)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""nodes":[{"address":"127.0.0.1:8080","id":"greeter-1","metadata":{"protocol":"mucp"}}]"#))
        #expect(text.contains(#""values":[{"name":"name","type":"string"}]"#))
        #expect(try JSONDecoder().decode(ServiceRecord.self, from: data) == r)
        // go-micro may send nulls / omit fields.
        let sparse = try JSONDecoder().decode(ServiceRecord.self, from: Data(#"{"name":"x","nodes":[{"id":"n"}]}"#.utf8))
        #expect(sparse.version == "")
        #expect(sparse.nodes == [Node(id: "n", address: "")])
    }
}
