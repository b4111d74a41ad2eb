import Foundation
import MicroCore
import MicroEtcd
import MicroTestSupport
import Testing

/// `MICRO_SYNC=etcd` beside `MICRO_REGISTRY=etcd`: the sync uses the registry's client, so one
/// `LeaseKeepAlive` stream keeps registrations and locks alive; and a leader is observed through an
/// etcd watch, not by asking again and again.
@Suite(.serialized) struct EtcdSyncSharingTests {
    static func engines(_ registryAddress: String, _ syncAddress: String) throws -> (registry: any Registry, sync: any Sync) {
        var environment = MicroEnvironment([:])
        environment.registry = "etcd"
        environment.registryAddress = registryAddress
        environment.sync = "etcd"
        environment.syncAddress = syncAddress
        let engines = Engines([.etcd])
        var context = EngineContext(environment: environment, logger: EtcdTest.logger("test.sync.shared"))
        let registry = try engines.makeRegistry(context)
        context.registry = registry
        return (registry, try engines.makeSync(context))
    }

    @Test func syncOnTheRegistrysMembersSharesItsClientAndKeepAliveStream() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        let port = etcd.members[0].clientPort
        // The same member, written two ways.
        let (registry, sync) = try Self.engines("127.0.0.1:\(port)", "http://127.0.0.1:\(port)")
        let etcdRegistry = try #require(registry as? EtcdRegistry)
        let etcdSync = try #require(sync as? EtcdSync)
        #expect(etcdSync.client === etcdRegistry.client, "the sync is made on the registry's client")

        // A registration with a TTL and a lock, both refreshed over the keep-alive stream.
        let record = EtcdTest.record("shared", nodes: ["shared-1"])
        try await registry.register(record, ttl: .seconds(5))
        try await registry.register(record, ttl: .seconds(5))
        let lease = try await sync.lock("jobs", ttl: .seconds(3), holder: "worker-1")
        _ = try await sync.renew(lease.grant)
        #expect(etcdRegistry.client.statistics.keepAliveStreamsOpened == 1)
        #expect(try etcd.keepAliveStreamsStarted() == 1, "etcd saw one LeaseKeepAlive stream serve both")

        // A sync on other members (here: the same one named differently) has a client of its own, and
        // etcd sees its second stream: the count above could have failed.
        let (other, ownSync) = try Self.engines("127.0.0.1:\(port)", "localhost:\(port)")
        let separate = try #require(ownSync as? EtcdSync)
        #expect(separate.client !== (other as? EtcdRegistry)?.client)
        let second = try await ownSync.lock("other", ttl: .seconds(3), holder: "worker-2")
        _ = try await ownSync.renew(second.grant)
        #expect(try etcd.keepAliveStreamsStarted() == 2)

        try await second.release()
        try await lease.release()
        await ownSync.shutdown()
        await other.shutdown()
        await sync.shutdown()
        #expect(etcdRegistry.client.statistics.keepAliveStreamOpen, "shutting the sync down leaves the registry's client open")
        try await registry.deregister(record)
        await registry.shutdown()
    }

    /// The leaders an observation reports, handed to the test through a stream; the stream ends after
    /// `bound` so a change that never comes fails the test instead of hanging it.
    static func observing(_ leader: Leader, bound: Duration = .seconds(20),
                          _ body: (inout AsyncStream<LockHolder?>.Iterator) async throws -> Void) async throws {
        let (changes, continuation) = AsyncStream<LockHolder?>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // An hour between polls: every change the test sees came from the watch.
            group.addTask {
                for try await holder in leader.observe(every: .seconds(3600)) { continuation.yield(holder) }
            }
            group.addTask {
                try? await Task.sleep(for: bound)
                continuation.finish()
            }
            var iterator = changes.makeAsyncIterator()
            try await body(&iterator)
            group.cancelAll()
        }
    }

    @Test func observeFollowsAnEtcdWatchNotAPoll() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        let observer = try EtcdSync(etcd: try EtcdTest.configuration(etcd.endpoints), logger: EtcdTest.logger("observer"))
        let candidate = try EtcdSync(etcd: try EtcdTest.configuration(etcd.endpoints), logger: EtcdTest.logger("candidate"))
        try await Self.observing(try observer.leader("primary")) { changes in
            #expect(await changes.next() == .some(nil), "no one leads at first")
            let reads = try etcd.kvCallsStarted("Range")
            let term = try await candidate.leader("primary").campaign(ttl: .seconds(5), holder: "node-a")
            let seen = await changes.next()
            #expect(seen??.holder == "node-a" && seen??.token == term.term, "\(String(describing: seen))")
            try await term.resign()
            #expect(await changes.next() == .some(nil), "resigning is seen")
            let next = try await candidate.leader("primary").campaign(ttl: .seconds(5), holder: "node-b")
            #expect(await changes.next()??.holder == "node-b")
            // The observer read the key once, before the watch: the changes cost it no reads.
            #expect(try etcd.kvCallsStarted("Range") == reads + 2, "the candidate's campaigns read the key; the observer did not")
            try await next.resign()
            #expect(await changes.next() == .some(nil))
        }
        #expect(observer.client.statistics.watchStreamsOpened == 1)
        await observer.shutdown()
        await candidate.shutdown()
    }

    @Test func observeResumesFromTheNextRevisionAfterItsMemberIsLost() async throws {
        let etcd = try await EtcdProcess(size: 3)
        defer { etcd.stop() }
        var leaderIndex: Int?
        _ = await EtcdTest.eventually(.seconds(10)) { leaderIndex = try? etcd.leaderIndex(); return leaderIndex != nil }
        let leader = try #require(leaderIndex)
        // The observer starts on a follower, which is then killed; the candidate never uses it.
        let follower = etcd.members.indices.first { $0 != leader }!
        let rest = etcd.members.indices.filter { $0 != follower }.map { etcd.members[$0].endpoint }
        let observer = try EtcdSync(etcd: try EtcdTest.configuration([etcd.members[follower].endpoint] + rest), logger: EtcdTest.logger("observer"))
        let candidate = try EtcdSync(etcd: try EtcdTest.configuration(rest), logger: EtcdTest.logger("candidate"))
        try await Self.observing(try observer.leader("primary")) { changes in
            #expect(await changes.next() == .some(nil))
            let first = try await candidate.leader("primary").campaign(ttl: .seconds(5), holder: "node-a")
            #expect(await changes.next()??.holder == "node-a")
            etcd.kill(follower)
            // While the observer's watch moves to another member: a resign and a new term. It reports
            // both, in order, because the watch resumes from the revision after the last it delivered.
            try await first.resign()
            let second = try await candidate.leader("primary").campaign(ttl: .seconds(5), holder: "node-b")
            #expect(await changes.next() == .some(nil))
            let seen = await changes.next()
            #expect(seen??.holder == "node-b" && seen??.token == second.term, "\(String(describing: seen))")
            try await second.resign()
        }
        #expect(observer.client.statistics.watchStreamsOpened >= 2, "the watch stream was opened again on another member")
        await observer.shutdown()
        await candidate.shutdown()
    }
}
