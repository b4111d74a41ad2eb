import MicroCore
import NIOCore
import Testing
@testable import MicroMDNS

@Suite struct PeerCacheTests {
    static func cache() -> MDNSPeerCache { MDNSPeerCache(names: Fixtures.names, maxPayloadBytes: 1 << 20, maxInstances: 64) }

    @Test func anAnnouncementCreatesAHeartbeatIsSilentAChangeUpdatesAGoodbyeDeletes() throws {
        var c = Self.cache()
        let t0 = NIODeadline.now()
        let written = Fixtures.record()
        let node = try Fixtures.local(written)
        let created = c.ingest(.response(answers: node.goMicro + node.wildcard), now: t0)
        #expect(created.map(\.action) == [.create])
        #expect(c.get("greeter") == [written])
        #expect(c.ingest(.response(answers: node.goMicro), now: t0 + .seconds(1)).isEmpty)
        let changed = try Fixtures.local(Fixtures.record(meta: ["protocol": "mucp", "rev": "2"]))
        let updated = c.ingest(.response(answers: changed.goMicro), now: t0 + .seconds(2))
        #expect(updated.map(\.action) == [.update])
        #expect(updated.first?.service.nodes.first?.metadata["rev"] == "2")
        let gone = c.ingest(.response(answers: changed.goodbyeGroups(lastOfService: true)[0]), now: t0 + .seconds(3))
        #expect(gone.map(\.action) == [.delete])
        #expect(c.get("greeter").isEmpty)
    }

    @Test func recordsExpireWithTheirTTLAndAreRefreshedAt80Percent() throws {
        var c = Self.cache()
        let t0 = NIODeadline.now()
        let node = try Fixtures.local(Fixtures.record(), ttl: 10)
        _ = c.ingest(.response(answers: node.goMicro), now: t0)
        #expect(c.dueQuestions(now: t0 + .seconds(7)).isEmpty)
        #expect(c.dueQuestions(now: t0 + .milliseconds(8100)).map(\.name) == [node.instance])
        #expect(c.dueQuestions(now: t0 + .milliseconds(8200)).isEmpty)
        #expect(c.expire(now: t0 + .milliseconds(9900)).isEmpty)
        let expired = c.expire(now: t0 + .seconds(10))
        #expect(expired.map(\.action) == [.delete])
        #expect(c.get("greeter").isEmpty && c.instanceCount == 0)
    }

    @Test func listShowsWildcardNamesAndServicesWithNodes() throws {
        var c = Self.cache()
        let a = try Fixtures.local(Fixtures.record("alpha", node: "a-1"))
        let b = try Fixtures.local(Fixtures.record("beta", node: "b-1"))
        _ = c.ingest(.response(answers: a.goMicro + a.wildcard))
        _ = c.ingest(.response(answers: b.wildcard))
        #expect(c.list().map(\.name) == ["alpha", "beta"])
        #expect(c.list().last?.nodes.isEmpty == true)
        _ = c.ingest(.response(answers: b.goodbyeGroups(lastOfService: true)[1]))
        #expect(c.list().map(\.name) == ["alpha"])
    }

    @Test func goMicroNodesWithAHostNameTargetAndDotsInNamesResolve() throws {
        // As go-micro's server sends it: SRV target is the machine's host name, A record on it.
        let names = Fixtures.names
        let inst = try names.instance(node: "n.1", service: "go.micro.srv.x")
        let host = try DNSName("myhost.")
        let txt = try MDNSTXTPayload(service: "go.micro.srv.x", version: "", endpoints: [], metadata: ["m": "1"], serviceMetadata: [:]).txtStrings()
        var c = Self.cache()
        let events = c.ingest(.response(answers: [
            DNSResourceRecord(name: try names.service("go.micro.srv.x"), ttl: 120, data: .ptr(inst)),
            DNSResourceRecord(name: inst, ttl: 120, data: .srv(priority: 10, weight: 1, port: 9000, target: host)),
            DNSResourceRecord(name: host, ttl: 120, data: .a([10, 0, 0, 7])),
            DNSResourceRecord(name: inst, ttl: 120, data: .txt(txt)),
        ]))
        #expect(events.map(\.action) == [.create])
        #expect(c.get("go.micro.srv.x").first?.nodes == [Node(id: "n.1", address: "10.0.0.7:9000", metadata: ["m": "1"])])
    }

    @Test func anInstanceWaitsForItsAddressAndAsksForWhatIsMissing() throws {
        var c = Self.cache()
        let node = try Fixtures.local(Fixtures.record())
        let t0 = NIODeadline.now()
        #expect(c.ingest(.response(answers: [node.goMicro[0]]), now: t0).isEmpty)
        #expect(c.dueQuestions(now: t0).map(\.name) == [node.instance])
        #expect(c.dueQuestions(now: t0 + .milliseconds(500)).isEmpty)
        #expect(c.ingest(.response(answers: Array(node.goMicro[1...2])), now: t0).isEmpty)
        // The address arrives in a packet of its own and completes the instance.
        #expect(c.ingest(.response(answers: [node.goMicro[3]]), now: t0).map(\.action) == [.create])
    }

    @Test func malformedTXTAndQueriesAndOtherDomainsAreIgnored() throws {
        var c = Self.cache()
        let node = try Fixtures.local(Fixtures.record())
        var bad = node.goMicro
        bad[2].data = .txt([Array("nothex".utf8)])
        #expect(c.ingest(.response(answers: bad)).isEmpty)
        #expect(c.malformedTXT == 1)
        #expect(c.ingest(.query([], knownAnswers: node.goMicro)).isEmpty)
        #expect(c.ingest(.response(answers: node.dnsSD)).isEmpty)
        var rcode = DNSMessage.response(answers: node.goMicro)
        rcode.flags |= 3
        #expect(c.ingest(rcode).isEmpty)
    }

    @Test func theCacheIsBounded() throws {
        var c = MDNSPeerCache(names: Fixtures.names, maxPayloadBytes: 1 << 20, maxInstances: 5)
        for i in 0..<20 {
            _ = c.ingest(.response(answers: try Fixtures.local(Fixtures.record(node: "n-\(i)")).goMicro))
        }
        #expect(c.instanceCount == 5 && c.dropped >= 15)
        #expect(c.get("greeter").first?.nodes.count == 5)
    }
}

@Suite struct ResponderTests {
    static let node = try! Fixtures.local(Fixtures.record())

    @Test func aLegacyUnicastQueryGetsItsIdAndQuestionBackWithoutCacheFlush() throws {
        var q = DNSMessage.query([DNSQuestion(name: try Fixtures.names.service("greeter"), type: .ptr)])
        q.id = 77
        let replies = MDNSResponder.replies(to: q, sourcePort: 40000, mdnsPort: 5353, groups: Self.node.groups, meta: [])
        #expect(replies.count == 1)
        let r = try #require(replies.first)
        #expect(r.unicast && r.message.id == 77 && r.message.questions == q.questions)
        #expect(r.message.answers.map(\.type) == [.ptr])
        #expect(r.message.additionals.map(\.type) == [.srv, .txt, .a])
        #expect(r.message.allRecords.allSatisfy { !$0.cacheFlush })
    }

    @Test func anMDNSQueryIsAnsweredToTheGroupOnePacketPerGroupWithKnownAnswersLeftOut() throws {
        let q = DNSMessage.query([DNSQuestion(name: Fixtures.names.dnsSDType, type: .ptr),
                                  DNSQuestion(name: Self.node.instance, type: .any)],
                                 knownAnswers: [])
        let replies = MDNSResponder.replies(to: q, sourcePort: 5353, mdnsPort: 5353, groups: Self.node.groups, meta: [])
        #expect(replies.count == 2 && replies.allSatisfy { !$0.unicast && $0.message.id == 0 && $0.message.questions.isEmpty })
        let known = DNSMessage.query([DNSQuestion(name: Fixtures.names.dnsSDType, type: .ptr)], knownAnswers: [Self.node.dnsSD[0]])
        #expect(MDNSResponder.replies(to: known, sourcePort: 5353, mdnsPort: 5353, groups: Self.node.groups, meta: []).isEmpty)
        let qu = DNSMessage.query([DNSQuestion(name: Fixtures.names.dnsSDType, type: .ptr, unicastResponse: true)])
        #expect(MDNSResponder.replies(to: qu, sourcePort: 5353, mdnsPort: 5353, groups: Self.node.groups, meta: []).first?.unicast == true)
    }

    @Test func responsesAndUnknownNamesGetNoAnswer() throws {
        let q = DNSMessage.query([DNSQuestion(name: try DNSName("other.micro."), type: .any)])
        #expect(MDNSResponder.replies(to: q, sourcePort: 5353, mdnsPort: 5353, groups: Self.node.groups, meta: []).isEmpty)
        var r = DNSMessage.query([DNSQuestion(name: Self.node.instance, type: .any)])
        r.isResponse = true
        #expect(MDNSResponder.replies(to: r, sourcePort: 5353, mdnsPort: 5353, groups: Self.node.groups, meta: []).isEmpty)
    }
}
