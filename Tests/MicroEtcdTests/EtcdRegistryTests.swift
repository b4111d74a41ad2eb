@testable import EtcdClient
import Foundation
import Logging
import MicroCore
import MicroEtcd
import MicroTestSupport
import Testing

/// ``EtcdRegistry`` on a real single-node etcd: the conformance suite's behaviours (a writer registers,
/// a separate reader with its own client sees it), go-micro's layout as etcdctl shows it, leases, and
/// what is not a registry record.
@Suite(.serialized) struct EtcdRegistryTests {
    /// One etcd, a writer and a reader (separate clients, as separate processes would have).
    struct Pair {
        let etcd: EtcdProcess
        let writer: EtcdRegistry
        let reader: EtcdRegistry

        init(renewal: EtcdRegistryConfiguration.LeaseRenewal = .onRegister, logger: Logger = EtcdTest.logger("test.etcd")) async throws {
            etcd = try await EtcdProcess()
            writer = try EtcdTest.registry(etcd.endpoints, renewal: renewal, logger: logger)
            reader = try EtcdTest.registry(etcd.endpoints, logger: logger)
        }

        func close() async {
            await writer.shutdown()
            await reader.shutdown()
            etcd.stop()
        }
    }

    @Test func registerGetDeregisterRoundTripsEveryField() async throws {
        let p = try await Pair()
        let written = EtcdTest.record(nodes: ["conf-a"], meta: ["zone": "z1"])
        try await p.writer.register(written, ttl: .seconds(30))
        var seen: [ServiceRecord] = []
        #expect(await EtcdTest.eventually { seen = (try? await p.reader.getService("conf")) ?? []; return !seen.isEmpty })
        #expect(seen == [written], "\(seen)")
        #expect(try await p.reader.getService("nobody-registered-this").isEmpty)
        #expect(p.writer.localServices == [written])
        try await p.writer.deregister(written)
        #expect(await EtcdTest.eventually { await EtcdTest.nodeIDs(p.reader, "conf").isEmpty })
        #expect(try p.etcd.ctl(["get", "--prefix", "/micro/registry/", "--keys-only"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        await p.close()
    }

    @Test func listShowsEveryServiceAndVersionsStayApart() async throws {
        let p = try await Pair()
        try await p.writer.register(EtcdTest.record("alpha", nodes: ["alpha-1"]), ttl: .seconds(30))
        try await p.writer.register(EtcdTest.record("beta", version: "1", nodes: ["beta-1"]), ttl: .seconds(30))
        try await p.writer.register(EtcdTest.record("beta", version: "2", nodes: ["beta-2"]), ttl: .seconds(30))
        let names = Set(try await p.reader.listServices().map(\.name))
        #expect(names == ["alpha", "beta"])
        #expect(Set(try await p.reader.getService("beta").map(\.version)) == ["1", "2"])
        // A record without nodes deregisters every node of its version.
        try await p.writer.deregister(ServiceRecord(name: "beta", version: "1"))
        #expect(try await p.reader.getService("beta").map(\.version) == ["2"])
        await p.close()
    }

    @Test func manyNodesRegisteredConcurrentlyShareOneKeepAliveStream() async throws {
        let p = try await Pair()
        let ids = (0..<20).map { "many-\($0)" }
        let writer = p.writer
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await writer.register(EtcdTest.record("many", nodes: [id]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 { group.addTask { try await writer.register(EtcdTest.record("svc\(i)", nodes: ["svc\(i)-n"]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        #expect(await EtcdTest.nodeIDs(p.reader, "many") == Set(ids))
        #expect(Set(try await p.reader.listServices().map(\.name)).isSuperset(of: (0..<10).map { "svc\($0)" }))
        // Heartbeats of all 30 nodes, concurrently: each refreshes its lease over the one shared stream.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await writer.register(EtcdTest.record("many", nodes: [id]), ttl: .seconds(30)) } }
            for i in 0..<10 { group.addTask { try await writer.register(EtcdTest.record("svc\(i)", nodes: ["svc\(i)-n"]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        let stats = p.writer.client.statistics
        #expect(stats.keepAliveStreamsOpened == 1, "\(stats)")
        #expect(stats.keepAliveStreamOpen, "\(stats)")
        // 30 distinct leases exist, one per node (etcdctl lists them).
        let leases = try p.etcd.ctl(["lease", "list"]).split(separator: "\n").filter { !$0.hasPrefix("found") }
        #expect(leases.count == 30, "\(leases)")
        await p.close()
    }

    @Test func aNodeWithoutHeartbeatExpiresAfterItsTTLAndOneWithHeartbeatStays() async throws {
        let p = try await Pair()
        let ttl = Duration.seconds(1)
        try await p.writer.register(EtcdTest.record("ttl", nodes: ["ttl-lapsed"]), ttl: ttl)
        try await p.writer.register(EtcdTest.record("ttl", nodes: ["ttl-kept"]), ttl: ttl)
        #expect(await EtcdTest.nodeIDs(p.reader, "ttl") == ["ttl-lapsed", "ttl-kept"])
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(2500) {
            try await p.writer.register(EtcdTest.record("ttl", nodes: ["ttl-kept"]), ttl: ttl)
            try await Task.sleep(for: .milliseconds(250))
        }
        let onlyKept = await EtcdTest.eventually(.seconds(4)) { await EtcdTest.nodeIDs(p.reader, "ttl") == ["ttl-kept"] }
        let left = await EtcdTest.nodeIDs(p.reader, "ttl")
        #expect(onlyKept, "\(left)")
        await p.close()
    }

    @Test func watchReportsCreateUpdateDeleteInOrderAndExpiries() async throws {
        let p = try await Pair()
        // An existing node is the starting point, not news.
        try await p.writer.register(EtcdTest.record("watched", nodes: ["w-0"]), ttl: .seconds(30))
        let (events, collector) = EtcdTest.collect(try await p.reader.watch(service: "watched"), service: "watched")
        defer { collector.cancel() }
        try await p.writer.register(EtcdTest.record("other", nodes: ["o-1"]), ttl: .seconds(30))
        try await p.writer.register(EtcdTest.record("watched", version: "2", nodes: ["w-1"], meta: ["rev": "1"]), ttl: .seconds(30))
        #expect(await EtcdTest.eventually { events.get.contains { $0.action == .create } }, "no create")
        try await p.writer.register(EtcdTest.record("watched", version: "2", nodes: ["w-1"], meta: ["rev": "2"]), ttl: .seconds(30))
        #expect(await EtcdTest.eventually { events.get.contains { $0.action == .update } }, "no update: \(events.get)")
        try await p.writer.deregister(EtcdTest.record("watched", version: "2", nodes: ["w-1"]))
        #expect(await EtcdTest.eventually { events.get.contains { $0.action == .delete } }, "no delete")
        let actions = events.get.map(\.action)
        #expect(actions == [.create, .update, .delete], "\(actions)")
        #expect(events.get[1].service.nodes.first?.metadata["rev"] == "2")
        #expect(events.get.allSatisfy { $0.service.version == "2" })
        // A node whose lease expires is reported gone too (etcd deletes its key).
        try await p.writer.register(EtcdTest.record("watched", nodes: ["w-2"]), ttl: .seconds(1))
        #expect(await EtcdTest.eventually(.seconds(8)) {
            events.get.contains { $0.action == .update && $0.service.nodes.map(\.id) == ["w-0"] }
        }, "no expiry: \(events.get.map(\.action))")
        await p.close()
    }

    @Test func etcdctlShowsGoMicroJSONUnderALease() async throws {
        let p = try await Pair()
        let record = EtcdTest.record("greeter", nodes: ["greeter-6f1c"], meta: ["transport": "http", "registry": "etcd"])
        try await p.writer.register(record, ttl: .seconds(30))
        let out = try p.etcd.ctl(["get", "--prefix", "/micro/registry/"])
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(out)")
        #expect(lines.first == "/micro/registry/greeter/greeter-6f1c")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["name", "version", "metadata", "endpoints", "nodes"])
        #expect(json["name"] as? String == "greeter")
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(nodes.count == 1)
        #expect(Set(nodes[0].keys) == ["id", "address", "metadata"])
        #expect(nodes[0]["id"] as? String == "greeter-6f1c" && nodes[0]["address"] as? String == "127.0.0.1:8080")
        let endpoint = try #require((json["endpoints"] as? [[String: Any]])?.first)
        #expect(Set(endpoint.keys) == ["name", "request", "response", "metadata"])
        // The key is attached to a lease of the registration's TTL.
        let kv = try p.etcd.ctl(["get", "/micro/registry/greeter/greeter-6f1c", "-w", "json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(kv.utf8)) as? [String: Any])
        let lease = try #require(((parsed["kvs"] as? [[String: Any]])?.first?["lease"] as? NSNumber)?.int64Value)
        #expect(lease != 0)
        let ttl = try p.etcd.ctl(["lease", "timetolive", String(lease, radix: 16)])
        #expect(ttl.contains("granted with TTL(30s)"), "\(ttl)")
        await p.close()
    }

    @Test func recordsWrittenByGoMicroAreRead() async throws {
        let p = try await Pair()
        // Exactly what go-micro's json.Marshal writes: struct field order, nil maps and slices as null.
        let goValue = #"{"name":"go.greeter","version":"latest","metadata":null,"endpoints":[{"request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},"response":null,"metadata":{"stream":"false"},"name":"Greeter.Hello"}],"nodes":[{"metadata":{"protocol":"mucp","transport":"http"},"id":"go.greeter-1","address":"127.0.0.1:9090"}]}"#
        let (events, collector) = EtcdTest.collect(try await p.reader.watch(service: nil), service: "go.greeter")
        defer { collector.cancel() }
        try p.etcd.ctl(["put", "/micro/registry/go.greeter/go.greeter-1", goValue])
        let found = try await p.reader.getService("go.greeter")
        #expect(found.count == 1)
        #expect(found.first?.nodes == [Node(id: "go.greeter-1", address: "127.0.0.1:9090", metadata: ["protocol": "mucp", "transport": "http"])])
        #expect(found.first?.endpoints.first?.request?.values.first?.name == "name")
        #expect(await EtcdTest.eventually { events.get.map(\.action) == [.create] })
        await p.close()
    }

    @Test func malformedValuesUnderThePrefixAreSkippedAndLogged() async throws {
        let logs = LogCapture()
        let p = try await Pair(logger: logs.logger)
        try await p.writer.register(EtcdTest.record("good", nodes: ["good-1"]), ttl: .seconds(30))
        let (events, collector) = EtcdTest.collect(try await p.reader.watch(service: nil), service: "good")
        defer { collector.cancel() }
        let garbage: [(String, String)] = [
            ("/micro/registry/bad/n1", "not json at all"),
            ("/micro/registry/bad/n2", "{}"),
            ("/micro/registry/bad/n3", #"{"name":"bad","nodes":[]}"#),
            ("/micro/registry/bad/n4", #"{"name":"bad","nodes":[{"address":"x"}]}"#),
            ("/micro/registry/bad/n5", "[1,2,3]"),
            ("/micro/registry/bad/n6", #"{"name":"bad","nodes":[{"id":"n6"}],"endpoints":"nope"}"#),
            ("/micro/registry/bad/n7", "\u{1}\u{2}\u{3}\u{ff}"),
            ("/micro/registry/onlyonepart", #"{"name":"x","nodes":[{"id":"y"}]}"#),
            ("/micro/registry/big/n", #"{"name":"big","nodes":[{"id":"n"}],"metadata":{"x":""# + String(repeating: "x", count: 1_100_000) + #""}}"#),
        ]
        for (key, value) in garbage {
            // etcdctl reads a large value from stdin poorly; write through a client instead.
            try await p.writer.client.put(key, value: value)
        }
        // Garbage over a good node's key: it is gone from the watch's view, no crash.
        try await p.writer.client.put("/micro/registry/good/good-1", value: "}{")
        #expect(await EtcdTest.eventually { events.get.map(\.action) == [.delete] }, "\(events.get.map(\.action))")
        let names = try await p.reader.listServices().map(\.name)
        #expect(names.isEmpty, "\(names)")
        #expect(try await p.reader.getService("bad").isEmpty)
        try await p.writer.register(EtcdTest.record("good", nodes: ["good-2"]), ttl: .seconds(30))
        #expect(try await p.reader.listServices().map(\.name) == ["good"])
        #expect(await EtcdTest.eventually { events.get.map(\.action) == [.delete, .create] }, "\(events.get.map(\.action))")
        let warnings = logs.records.filter { $0.level == .warning && $0.message.contains("malformed") }
        let keys = Set(warnings.compactMap { $0.metadata["key"].map { "\($0)" } })
        #expect(keys.isSuperset(of: ["/micro/registry/bad/n1", "/micro/registry/bad/n3", "/micro/registry/onlyonepart", "/micro/registry/big/n"]), "\(keys)")
        await p.close()
    }

    @Test func continuousLeasesLiveWithoutHeartbeatsAndAreGrantedAgainWhenLost() async throws {
        let p = try await Pair(renewal: .continuous)
        try await p.writer.register(EtcdTest.record("kept", nodes: ["kept-1"]), ttl: .seconds(1))
        // No heartbeat for 3 TTLs: the client keeps the lease alive.
        try await Task.sleep(for: .seconds(3))
        #expect(await EtcdTest.nodeIDs(p.reader, "kept") == ["kept-1"])
        #expect(p.writer.client.statistics.keptLeases == 1)
        // Someone revokes the lease: the key goes, the registry notices on its next refresh and registers again.
        let kv = try p.etcd.ctl(["get", "/micro/registry/kept/kept-1", "-w", "json"])
        let lease = try #require((((try JSONSerialization.jsonObject(with: Data(kv.utf8)) as? [String: Any])?["kvs"] as? [[String: Any]])?.first?["lease"] as? NSNumber)?.int64Value)
        try p.etcd.ctl(["lease", "revoke", String(lease, radix: 16)])
        #expect(await EtcdTest.eventually(.seconds(6)) {
            (try? p.etcd.ctl(["get", "/micro/registry/kept/kept-1", "--print-value-only"]))?.contains("kept-1") == true
        }, "not registered again")
        // Shutting the registry down stops the keep-alive: the node expires.
        await p.writer.shutdown()
        #expect(await EtcdTest.eventually(.seconds(6)) { await EtcdTest.nodeIDs(p.reader, "kept").isEmpty })
        await p.close()
    }

    @Test func aHeartbeatAfterTheLeaseWasLostRegistersAgain() async throws {
        let p = try await Pair()
        let record = EtcdTest.record("again", nodes: ["again-1"])
        try await p.writer.register(record, ttl: .seconds(30))
        try p.etcd.ctl(["del", "--prefix", "/micro/registry/"])
        for line in try p.etcd.ctl(["lease", "list"]).split(separator: "\n") where !line.hasPrefix("found") {
            try p.etcd.ctl(["lease", "revoke", String(line)])
        }
        #expect(try await p.reader.getService("again").isEmpty)
        try await p.writer.register(record, ttl: .seconds(30))
        #expect(await EtcdTest.nodeIDs(p.reader, "again") == ["again-1"])
        await p.close()
    }

    @Test func namesWithSlashesUseGoMicrosKeys() async throws {
        let p = try await Pair()
        try await p.writer.register(ServiceRecord(name: "team/api", nodes: [Node(id: "team/api-1", address: "127.0.0.1:1")]), ttl: .seconds(30))
        #expect(try p.etcd.ctl(["get", "--prefix", "/micro/registry/", "--keys-only"]).contains("/micro/registry/team-api/team-api-1"))
        #expect(try await p.reader.getService("team/api").first?.nodes.map(\.id) == ["team/api-1"])
        #expect(try await p.reader.getService("team-api").isEmpty)
        await p.close()
    }

    @Test func registeringWithoutNodesOrAfterShutdownFails() async throws {
        let p = try await Pair()
        await #expect(throws: EtcdError.self) { try await p.writer.register(ServiceRecord(name: "x"), ttl: .seconds(5)) }
        await p.writer.shutdown()
        let error = await #expect(throws: EtcdError.self) { try await p.writer.register(EtcdTest.record(nodes: ["n"]), ttl: .seconds(5)) }
        #expect(error?.code == .shutdown)
        await p.close()
    }
}
