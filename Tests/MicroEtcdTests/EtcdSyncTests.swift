import Foundation
import MicroCore
import MicroEtcd
import MicroTestSupport
import SyncConformance
import Testing

/// The sync contract on ``EtcdSync`` against a real single-node etcd: each check gets an etcd of its own.
@Suite(.serialized) struct EtcdSyncTests {
    @Test(arguments: SyncCheck.all) func conformance(_ check: SyncCheck) async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        // etcd grants leases in whole seconds, at least about 2 s.
        try await SyncConformance(backend: "etcd", shortTTL: .seconds(2)) {
            try EtcdSync(etcd: try EtcdTest.configuration(etcd.endpoints), logger: EtcdTest.logger("test.sync.etcd"))
        }.run(check)
    }

    @Test func lockIsAKeyOnALeaseAndTheTokenItsCreateRevision() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        let sync = try EtcdSync(etcd: try EtcdTest.configuration(etcd.endpoints), logger: EtcdTest.logger("test.sync.etcd"))
        let lease = try await sync.lock("jobs", ttl: .seconds(5), holder: "worker-1")
        let kv = try await sync.client.get(sync.etcdKey("lock/jobs"))
        #expect(kv?.valueString == "worker-1")
        #expect(kv.map { UInt64($0.createRevision) } == lease.token.value)
        #expect(kv.map { UInt64(bitPattern: $0.lease) } == lease.grant.handle)
        // Through etcdctl, a tool no one here wrote: the lock is visible with its lease.
        let listed = try etcd.ctl(["get", "--prefix", "/micro/sync/", "--print-value-only"])
        #expect(listed.contains("worker-1"))
        try await lease.release()
        #expect(try await sync.client.get(sync.etcdKey("lock/jobs")) == nil, "release revokes the lease and its key")
        await sync.shutdown()
    }

    @Test func etcdUnreachableIsUnavailableWithinTheOperationTimeout() async throws {
        let port = try freePort()
        var configuration = try EtcdConfiguration(addresses: "127.0.0.1:\(port)")
        configuration.operationTimeout = .seconds(1)
        let sync = try EtcdSync(etcd: configuration, logger: EtcdTest.logger("test.sync.etcd"))
        do {
            _ = try await sync.lock("x", ttl: .seconds(2), wait: .zero)
            Issue.record("a lock on no etcd succeeded")
        } catch let error as SyncError {
            #expect(error.code == .unavailable, "\(error)")
        }
        await sync.shutdown()
    }
}
