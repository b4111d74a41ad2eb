import Foundation
import MicroCore
import MicroEtcd
import MicroTestSupport
import Testing

/// ``EtcdRegistry`` on a real 3-member etcd cluster on loopback: the leader is killed with SIGKILL
/// while registrations are alive; the registry keeps answering and keeps them.
@Suite(.serialized) struct EtcdClusterTests {
    /// Endpoints with the leader first, so the clients start on the member that gets killed.
    static func leaderFirst(_ etcd: EtcdProcess) async throws -> (leader: Int, endpoints: [String]) {
        var leader: Int?
        _ = await EtcdTest.eventually(.seconds(10)) { leader = try? etcd.leaderIndex(); return leader != nil }
        let l = try #require(leader, "no leader")
        return (l, [etcd.members[l].endpoint] + etcd.members.indices.filter { $0 != l }.map { etcd.members[$0].endpoint })
    }

    @Test func killingTheLeaderKeepsTheRegistryAnsweringAndItsRegistrations() async throws {
        let etcd = try await EtcdProcess(size: 3)
        let (leader, endpoints) = try await Self.leaderFirst(etcd)
        let writer = try EtcdTest.registry(endpoints, logger: EtcdTest.logger("writer"))
        let reader = try EtcdTest.registry(endpoints, logger: EtcdTest.logger("reader"))
        let ids = (0..<5).map { "ha-\($0)" }
        let ttl = Duration.seconds(3)
        for id in ids { try await writer.register(EtcdTest.record("ha", nodes: [id]), ttl: ttl) }
        #expect(await EtcdTest.nodeIDs(reader, "ha") == Set(ids))
        let (events, collector) = EtcdTest.collect(try await reader.watch(service: "ha"), service: "ha")
        defer { collector.cancel() }
        #expect(writer.client.activeEndpoint.description == etcd.members[leader].endpoint)

        // Heartbeats continue in the background as a service's re-register loop would (every TTL/3).
        let heartbeatFailures = Box(0)
        let beating = Box(ids)
        let heartbeat = Task {
            while !Task.isCancelled {
                for id in beating.get {
                    do { try await writer.register(EtcdTest.record("ha", nodes: [id]), ttl: ttl) } catch { heartbeatFailures.withLock { $0 += 1 } }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        defer { heartbeat.cancel() }
        // The first heartbeat opens the keep-alive stream (registering granted the leases).
        #expect(await EtcdTest.eventually { writer.client.statistics.keepAliveStreamOpen && reader.client.statistics.watchStreamOpen })

        let killed = ContinuousClock.now
        etcd.kill(leader)
        // The registry keeps answering: how long until a read, and a new registration, succeed again.
        async let readBack: Duration? = {
            let ok = await EtcdTest.eventually(.seconds(15)) { await EtcdTest.nodeIDs(reader, "ha") == Set(ids) }
            return ok ? ContinuousClock.now - killed : nil
        }()
        async let writeBack: Duration? = {
            let ok = await EtcdTest.eventually(.seconds(15)) { (try? await writer.register(EtcdTest.record("ha", nodes: ["ha-new"]), ttl: ttl)) != nil }
            beating.withLock { $0.append("ha-new") }
            return ok ? ContinuousClock.now - killed : nil
        }()
        let (read, write) = await (readBack, writeBack)
        #expect(read != nil && write != nil)
        print("etcd failover after kill -9 of the leader: reads answered again after \(read.map { "\($0)" } ?? "never"), writes after \(write.map { "\($0)" } ?? "never")")
        // Two TTLs later every registration is still there: leases were refreshed through another member.
        try await Task.sleep(for: ttl * 2)
        #expect(await EtcdTest.nodeIDs(reader, "ha") == Set(ids + ["ha-new"]))
        // The reader's watch moved too and saw the node registered after the kill.
        #expect(await EtcdTest.eventually { events.get.contains { $0.action == .update && $0.service.nodes.contains { $0.id == "ha-new" } } },
                "\(events.get.map(\.action))")
        #expect(!events.get.contains { $0.action == .delete }, "a node was reported gone: \(events.get)")
        let w = writer.client.statistics, r = reader.client.statistics
        #expect(w.activeEndpoint.description != etcd.members[leader].endpoint && w.failovers >= 1, "\(w)")
        #expect(w.keepAliveStreamOpen && w.keepAliveStreamsOpened >= 2, "\(w)")
        #expect(r.watchStreamOpen && r.watchStreamsOpened >= 2, "\(r)")
        print("heartbeats that failed during the failover: \(heartbeatFailures.get)")
        heartbeat.cancel()
        await writer.shutdown()
        await reader.shutdown()
        etcd.stop()
    }

    @Test func continuouslyKeptLeasesOutliveTheLeaderWithoutHeartbeats() async throws {
        let etcd = try await EtcdProcess(size: 3)
        let (leader, endpoints) = try await Self.leaderFirst(etcd)
        let writer = try EtcdTest.registry(endpoints, renewal: .continuous)
        let reader = try EtcdTest.registry(Array(endpoints.reversed()))
        try await writer.register(EtcdTest.record("kept", nodes: ["kept-1"]), ttl: .seconds(2))
        etcd.kill(leader)
        // 3 TTLs without any registration: only the keep-alive stream, moved to another member, keeps it.
        try await Task.sleep(for: .seconds(6))
        #expect(await EtcdTest.nodeIDs(reader, "kept") == ["kept-1"])
        let stats = writer.client.statistics
        #expect(stats.keepAliveStreamOpen && stats.keepAliveStreamsOpened >= 2 && stats.keptLeases == 1, "\(stats)")
        // The killed member comes back and the cluster is whole again; the registry still works.
        try await etcd.restart(leader)
        try await writer.register(EtcdTest.record("kept", nodes: ["kept-2"]), ttl: .seconds(2))
        #expect(await EtcdTest.nodeIDs(reader, "kept") == ["kept-1", "kept-2"])
        await writer.shutdown()
        await reader.shutdown()
        etcd.stop()
    }

    @Test func aWatchThatMissedCompactedHistoryCatchesUpByReadingAgain() async throws {
        let etcd = try await EtcdProcess(size: 3)
        let (leader, _) = try await Self.leaderFirst(etcd)
        let lonely = etcd.members.indices.first { $0 != leader }!
        let others = etcd.members.indices.filter { $0 != lonely }.map { etcd.members[$0].endpoint }
        let writer = try EtcdTest.registry(others)
        // The reader knows only the member that will be down while history is compacted.
        let reader = try EtcdTest.registry([etcd.members[lonely].endpoint])
        for id in ["cmp-a", "cmp-b"] { try await writer.register(EtcdTest.record("cmp", nodes: [id]), ttl: .seconds(30)) }
        let (events, collector) = EtcdTest.collect(try await reader.watch(service: "cmp"), service: "cmp")
        defer { collector.cancel() }
        try await writer.register(EtcdTest.record("cmp", nodes: ["cmp-c"]), ttl: .seconds(30))
        #expect(await EtcdTest.eventually { events.get.count == 1 })

        etcd.kill(lonely)
        try await writer.deregister(EtcdTest.record("cmp", nodes: ["cmp-a"]))
        try await writer.register(EtcdTest.record("cmp", nodes: ["cmp-d"]), ttl: .seconds(30))
        try await writer.register(EtcdTest.record("cmp", nodes: ["cmp-b"], meta: ["rev": "2"]), ttl: .seconds(30))
        let now = try await writer.client.put("/elsewhere", value: "x")
        try await writer.client.compact(revision: now.revision)
        try await etcd.restart(lonely)

        // The watch resumes, finds its history compacted, reads the registry again and reports the difference.
        let caughtUp = await EtcdTest.eventually(.seconds(15)) {
            guard let last = events.get.last else { return false }
            return Set(last.service.nodes.map(\.id)) == ["cmp-b", "cmp-c", "cmp-d"]
                && last.service.nodes.first { $0.id == "cmp-b" }?.metadata["rev"] == "2"
        }
        #expect(caughtUp, "\(events.get.map { ($0.action, $0.service.nodes.map(\.id)) })")
        #expect(events.get.allSatisfy { $0.action == .update }, "\(events.get.map(\.action))")
        #expect(try await reader.getService("cmp").first?.nodes.count == 3)
        await writer.shutdown()
        await reader.shutdown()
        etcd.stop()
    }
}
