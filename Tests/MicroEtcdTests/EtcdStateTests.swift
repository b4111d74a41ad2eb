@testable import EtcdClient
import Foundation
import GRPCCore
import MicroCore
@testable import MicroEtcd
import Testing

/// The client's and registry's state machines and value types, without a server.
@Suite struct EtcdStateTests {
    typealias Instant = ContinuousClock.Instant

    // MARK: Endpoints and ranges

    @Test func endpointsParseGoMicroAddressForms() throws {
        #expect(try EtcdEndpoint(parsing: "127.0.0.1:12379") == EtcdEndpoint(host: "127.0.0.1", port: 12379))
        #expect(try EtcdEndpoint(parsing: "etcd-0") == EtcdEndpoint(host: "etcd-0", port: 2379))
        #expect(try EtcdEndpoint(parsing: "http://10.0.0.1:2379/") == EtcdEndpoint(host: "10.0.0.1", port: 2379))
        #expect(try EtcdEndpoint(parsing: "[::1]:2380") == EtcdEndpoint(host: "::1", port: 2380))
        #expect(try EtcdEndpoint.list(" a:1, ,b:2 ") == [EtcdEndpoint(host: "a", port: 1), EtcdEndpoint(host: "b", port: 2)])
        #expect(EtcdEndpoint(host: "::1", port: 5).description == "[::1]:5")
        for bad in ["", "a:", "a:0", "a:99999", "a:b", "https://x:1", "unix:///tmp/x", "[::1", "[::1]x"] {
            #expect(throws: EtcdError.self, "\(bad)") { try EtcdEndpoint(parsing: bad) }
        }
        #expect(try EtcdConfiguration(addresses: nil).endpoints == [EtcdEndpoint(host: "127.0.0.1", port: 2379)])
    }

    @Test func prefixRangesEndAfterEveryKeyWithThePrefix() {
        #expect(EtcdKeyRange.prefix("/micro/registry/") == EtcdKeyRange(key: Array("/micro/registry/".utf8), rangeEnd: Array("/micro/registry0".utf8)))
        #expect(EtcdKeyRange.prefixEnd([0x61, 0xff]) == [0x62])
        #expect(EtcdKeyRange.prefixEnd([0xff, 0xff]) == [0])
        #expect(EtcdKeyRange.prefix("") == EtcdKeyRange(key: [0], rangeEnd: [0]))
        #expect(EtcdConnection.seconds(.milliseconds(1500)) == 2)
        #expect(EtcdConnection.seconds(.seconds(90)) == 90)
        #expect(EtcdConnection.seconds(.zero) == 1)
    }

    @Test func registryKeysFollowGoMicrosNodePath() {
        let k = EtcdRegistryKey(service: "go.micro/srv", node: "a/b-1")
        #expect(k.key == "/micro/registry/go.micro-srv/a-b-1")
        #expect(EtcdRegistryKey.servicePrefix("x/y") == "/micro/registry/x-y/")
        #expect(EtcdRegistryKey(parsing: k.key) == EtcdRegistryKey(service: "go.micro-srv", node: "a-b-1"))
    }

    // MARK: Errors

    @Test func etcdStatusesMapToCodes() {
        func code(_ c: RPCError.Code, _ message: String) -> EtcdError.Code { EtcdError.from(RPCError(code: c, message: message), endpoint: "e").code }
        #expect(code(.unavailable, "etcdserver: leader changed") == .unavailable)
        #expect(code(.deadlineExceeded, "context deadline exceeded") == .timeout)
        #expect(code(.notFound, "etcdserver: requested lease not found") == .leaseNotFound)
        #expect(code(.outOfRange, "etcdserver: mvcc: required revision has been compacted") == .compacted)
        #expect(code(.unknown, "raft proposal dropped") == .unavailable)
        #expect(code(.invalidArgument, "etcdserver: key is not provided") == .invalidArgument)
        #expect(code(.resourceExhausted, "grpc: received message larger than max") == .resourceExhausted)
        #expect(EtcdError(.unavailable, "x").isRetryable && !EtcdError(.leaseNotFound, "x").isRetryable)
        #expect(EtcdError(.unavailable, "x").microError.code == 503)
    }

    // MARK: Member selection

    @Test func failoverMovesToTheNextHealthyMemberOnce() {
        let t0 = Instant.now
        var s = EtcdMemberSelection(count: 3, quarantine: .seconds(5))
        #expect(s.current == 0)
        check(s.failed(0, now: t0) == 1)
        // A late report of the same failure from another request does not skip member 1.
        check(s.failed(0, now: t0) == nil)
        #expect(s.current == 1)
        // Member 1 fails too: 2 is next, 0 is still quarantined.
        check(s.failed(1, now: t0) == 2)
        // All failed recently: go round anyway.
        check(s.failed(2, now: t0) == 0)
        // After the quarantine a failed member is a candidate again.
        var q = EtcdMemberSelection(count: 3, quarantine: .seconds(5))
        _ = q.failed(1, now: t0)
        check(q.failed(0, now: t0 + .seconds(1)) == 2)
        check(q.failed(2, now: t0 + .seconds(10)) == 0)
        var single = EtcdMemberSelection(count: 1, quarantine: .seconds(5))
        check(single.failed(0, now: t0) == nil && single.current == 0)
    }

    // MARK: Request budget per connection

    @Test func aConnectionCarriesAtMostItsBudgetOfRequestsPerWindow() {
        let t0 = Instant.now
        var b = EtcdCallBudget(limit: 3, window: .seconds(30))
        check((0..<3).allSatisfy { b.admit(now: t0 + .seconds($0)) })
        // A fourth within 30 s of the first is refused and not recorded.
        check(!b.admit(now: t0 + .seconds(29)))
        check(!b.admit(now: t0 + .seconds(29)))
        // Once the first is 30 s old there is room for one more, then the second has to age.
        check(b.admit(now: t0 + .seconds(30)))
        check(!b.admit(now: t0 + .milliseconds(30_500)))
        check(b.admit(now: t0 + .seconds(31)))
        var one = EtcdCallBudget(limit: 0, window: .seconds(1))
        check(one.limit == 1 && one.admit(now: t0) && !one.admit(now: t0))
    }

    // MARK: Keep-alive bookkeeping

    @Test func keptLeasesAreRefreshedEveryThirdOfTheirTTL() {
        let t0 = Instant.now
        var k = EtcdKeepAliveState(resendInterval: .seconds(1))
        k.keepAlive(7, ttl: 3, now: t0)
        k.keepAlive(8, ttl: 30, now: t0)
        check(k.due(now: t0 + .milliseconds(900)).isEmpty)
        check(k.due(now: t0 + .seconds(1)) == [7])
        // Unanswered: not sent again before the resend interval, then sent again.
        check(k.due(now: t0 + .milliseconds(1500)).isEmpty)
        #expect(k.oldestOutstanding == t0 + .seconds(1))
        check(k.due(now: t0 + .seconds(2)) == [7])
        let a = k.answered(7, ttl: 3, now: t0 + .seconds(2))
        #expect(a == .init(waiters: [], lost: false, wasContinuous: true))
        #expect(k.nextDeadline == t0 + .seconds(3))
        check(k.due(now: t0 + .seconds(10)) == [7, 8])
        #expect(k.continuousCount == 2)
    }

    @Test func oneShotRefreshesShareOneRequestAndGetTheAnswer() {
        let t0 = Instant.now
        var k = EtcdKeepAliveState()
        check(k.refreshOnce(5, waiter: 1, now: t0))
        check(!k.refreshOnce(5, waiter: 2, now: t0 + .milliseconds(10)))
        check(k.answered(5, ttl: 10, now: t0) == .init(waiters: [1, 2], lost: false, wasContinuous: false))
        // Not kept: forgotten after the answer.
        #expect(k.leases.isEmpty)
        // A lease etcd no longer knows: the waiter hears it is lost.
        check(k.refreshOnce(6, waiter: 3, now: t0))
        check(k.answered(6, ttl: 0, now: t0) == .init(waiters: [3], lost: true, wasContinuous: false))
        // A waiter that gave up is forgotten.
        _ = k.refreshOnce(9, waiter: 4, now: t0)
        k.cancel(waiter: 4, lease: 9)
        #expect(k.leases.isEmpty)
        // Answers for unknown leases are ignored.
        check(k.answered(42, ttl: 5, now: t0) == .init(waiters: [], lost: false, wasContinuous: false))
    }

    @Test func aNewStreamResendsEverythingAndALostLeaseStopsBeingKept() {
        let t0 = Instant.now
        var k = EtcdKeepAliveState()
        k.keepAlive(1, ttl: 60, now: t0)
        _ = k.refreshOnce(2, waiter: 9, now: t0)
        check(k.streamOpened(now: t0) == [1, 2])
        check(k.answered(1, ttl: -1, now: t0) == .init(waiters: [], lost: true, wasContinuous: true))
        #expect(k.continuousCount == 0)
        k.stop(2)
        #expect(k.leases.keys.sorted() == [2])  // its waiter still waits
        check(k.removeAll() == [9])
    }

    // MARK: Watch bookkeeping

    static func response(id: Int64, revision: Int64, created: Bool = false, canceled: Bool = false, compact: Int64 = 0,
                         fragment: Bool = false, events: [(Mvccpb_Event.EventType, String, Int64)] = []) -> Etcdserverpb_WatchResponse {
        var r = Etcdserverpb_WatchResponse()
        r.header.revision = revision
        r.watchID = id
        r.created = created
        r.canceled = canceled
        r.compactRevision = compact
        r.fragment = fragment
        r.events = events.map { type, key, rev in
            var e = Mvccpb_Event()
            e.type = type
            e.kv.key = Data(key.utf8)
            e.kv.modRevision = rev
            e.kv.version = type == .put ? 1 : 0
            return e
        }
        return r
    }

    @Test func watchesMapToServerIdsInCreateOrderAndResumeAfterTheLastEvent() throws {
        var w = EtcdWatchState()
        let a = w.add(.prefix("/a/"), fromRevision: 0, prevKV: false)
        let b = w.add(.prefix("/b/"), fromRevision: 50, prevKV: true)
        let creates = w.streamOpened()
        #expect(creates.count == 2)
        guard case .createRequest(let ca) = creates[0].requestUnion, case .createRequest(let cb) = creates[1].requestUnion else {
            Issue.record("not creates")
            return
        }
        #expect(ca.key == Data("/a/".utf8) && ca.rangeEnd == Data("/a0".utf8) && ca.startRevision == 0 && ca.progressNotify)
        #expect(cb.startRevision == 50 && cb.prevKv)
        // etcd assigns its own ids, answering in order.
        check(w.handle(Self.response(id: 10, revision: 40, created: true)) == .created(local: a))
        check(w.handle(Self.response(id: 11, revision: 40, created: true)) == .created(local: b))
        #expect(w.watches[a]?.nextRevision == 41)  // "from now" became "after 40"
        #expect(w.watches[b]?.nextRevision == 50)  // an explicit start is kept
        let batch = w.handle(Self.response(id: 10, revision: 45, events: [(.put, "/a/x", 43), (.delete, "/a/y", 44)]))
        guard case .events(let local, let r) = batch else {
            Issue.record("no events: \(batch)")
            return
        }
        #expect(local == a && r.events.map(\.kind) == [.put, .delete] && r.events[0].isCreate && r.revision == 45)
        #expect(w.watches[a]?.nextRevision == 45)
        // A fragment leaves its revision to be read again after a break.
        _ = w.handle(Self.response(id: 11, revision: 60, fragment: true, events: [(.put, "/b/1", 55)]))
        #expect(w.watches[b]?.nextRevision == 55)
        // Progress moves the resume point without events.
        check(w.handle(Self.response(id: 10, revision: 70)) == .nothing)
        #expect(w.watches[a]?.nextRevision == 71)
        // A new stream: every watch created again from its resume point.
        let again = w.streamOpened()
        let starts = again.compactMap { r -> Int64? in if case .createRequest(let c) = r.requestUnion { return c.startRevision } else { return nil } }
        #expect(starts == [71, 55])
        // Events of the old stream's ids mean nothing now.
        check(w.handle(Self.response(id: 10, revision: 80, events: [(.put, "/a/z", 79)])) == .nothing)
    }

    @Test func compactionFailedCreatesAndRemovedWatchesAreReported() {
        var w = EtcdWatchState()
        let a = w.add(.prefix("/a/"), fromRevision: 5, prevKV: false)
        let b = w.add(.key("/k"), fromRevision: 0, prevKV: false)
        let c = w.add(.key("/c"), fromRevision: 0, prevKV: false)
        _ = w.streamOpened()
        // etcd answers a failed create with id -1: the queue says it was a's.
        check(w.handle(Self.response(id: -1, revision: 9, created: true, canceled: true)) == .ended(local: a, compactRevision: 0, reason: ""))
        check(w.handle(Self.response(id: 3, revision: 9, created: true)) == .created(local: b))
        // b's history is compacted.
        check(w.handle(Self.response(id: 3, revision: 9, canceled: true, compact: 7)) == .ended(local: b, compactRevision: 7, reason: ""))
        // c is removed before its create is answered: once it is, etcd is told to cancel it.
        check(w.remove(c) == nil)
        guard case .cancelOrphan(let cancel) = w.handle(Self.response(id: 4, revision: 9, created: true)),
              case .cancelRequest(let r) = cancel.requestUnion else {
            Issue.record("no cancel")
            return
        }
        #expect(r.watchID == 4)
        #expect(w.isEmpty)
        // Created answers nobody waits for are ignored.
        check(w.handle(Self.response(id: 5, revision: 9, created: true)) == .nothing)
    }

    // MARK: Registry view and codec

    static func record(_ name: String, _ version: String = "1", nodes: [String], meta: [String: String] = [:]) -> ServiceRecord {
        ServiceRecord(name: name, version: version, nodes: nodes.map { Node(id: $0, address: "127.0.0.1:1", metadata: meta) })
    }

    @Test func theViewTurnsPutsAndDeletesIntoRegistryEvents() {
        var v = EtcdRegistryView(service: nil)
        let k1 = Array("/micro/registry/s/n1".utf8), k2 = Array("/micro/registry/s/n2".utf8)
        check(v.put(key: k1, record: Self.record("s", nodes: ["n1"])).map(\.action) == [.create])
        check(v.put(key: k2, record: Self.record("s", nodes: ["n2"])).map(\.action) == [.update])
        check(v.put(key: k2, record: Self.record("s", nodes: ["n2"])).isEmpty)  // a heartbeat is silent
        check(v.put(key: k2, record: Self.record("s", nodes: ["n2"], meta: ["x": "1"])).map(\.action) == [.update])
        check(v.delete(key: k1).map(\.action) == [.update])
        // A key moving to another version leaves the old one.
        let moved = v.put(key: k2, record: Self.record("s", "2", nodes: ["n2"]))
        #expect(moved.map(\.action) == [.delete, .create])
        // A value turned to garbage removes what the key held.
        let gone = v.put(key: k2, record: nil)
        #expect(gone.map(\.action) == [.delete] && gone.first?.service.nodes.map(\.id) == ["n2"])
        check(v.delete(key: k2).isEmpty)
        // A view of one service ignores others.
        var only = EtcdRegistryView(service: "s")
        check(only.put(key: k1, record: Self.record("t", nodes: ["n1"])).isEmpty)
    }

    @Test func aResyncReportsWhatChangedMeanwhile() {
        var v = EtcdRegistryView(service: nil)
        let k1 = Array("/micro/registry/s/a".utf8), k2 = Array("/micro/registry/s/b".utf8), k3 = Array("/micro/registry/t/c".utf8)
        _ = v.put(key: k1, record: Self.record("s", nodes: ["a"]))
        _ = v.put(key: k2, record: Self.record("s", nodes: ["b"]))
        let events = v.resync([(k2, Self.record("s", nodes: ["b"])), (k3, Self.record("t", nodes: ["c"]))])
        #expect(events.map(\.action) == [.update, .create])
        #expect(v.state.list().map(\.name) == ["s", "t"])
    }

    @Test func theCodecSkipsWhatIsNotARegistryRecord() throws {
        let codec = EtcdRegistryCodec(maxValueBytes: 160, logger: .init(label: "test"))
        func kv(_ key: String, _ value: String) -> EtcdKeyValue { EtcdKeyValue(key: Array(key.utf8), value: Array(value.utf8), modRevision: 1) }
        let good = #"{"name":"s","nodes":[{"id":"n","address":"a:1","metadata":null}],"metadata":null,"endpoints":null}"#
        #expect(codec.decode(kv("/micro/registry/s/n", good)) == ServiceRecord(name: "s", version: "", nodes: [Node(id: "n", address: "a:1")]))
        for (key, value) in [("/micro/registry/s/n", "not json"), ("/micro/registry/s/n", "{}"), ("/micro/registry/s/n", "null"),
                             ("/micro/registry/s/n", #"{"name":"s","nodes":[]}"#), ("/micro/registry/s/n", #"{"name":"","nodes":[{"id":"n"}]}"#),
                             ("/micro/registry/s/n", #"{"name":"s","nodes":[{"id":"n"}],"x":""# + String(repeating: "a", count: 200) + #""}"#),
                             ("/micro/registry/s", good), ("/elsewhere/s/n", good)] {
            #expect(codec.decode(kv(key, value)) == nil, "\(key) \(value)")
        }
        let encoded = try codec.encode(Self.record("a/b", nodes: ["n"]))
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""name":"a/b""#))  // slashes unescaped, as Go writes them
    }
}

/// `#expect` for conditions that call mutating methods (the macro cannot capture those).
func check(_ condition: Bool, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(condition, comment, sourceLocation: sourceLocation)
}
