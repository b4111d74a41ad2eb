import Foundation
import MicroCore
import MicroEtcd
import MicroTestSupport
import StoreConformance
import Synchronization
import Testing

/// The store contract on ``EtcdStore`` against a real single-node etcd: each check gets an etcd of its
/// own, stopped when the check ends (one at a time: etcd is a process per check).
@Suite(.serialized) struct EtcdStoreConformanceTests {
    /// The etcd behind each check's store, so the cleanup stops the right one.
    static let processes = Mutex<[ObjectIdentifier: EtcdProcess]>([:])

    static let suite = StoreConformance(backend: "etcd") {
        let etcd = try await EtcdProcess()
        let store = try EtcdStore(etcd: try EtcdTest.configuration(etcd.endpoints), logger: EtcdTest.logger("test.store.etcd"))
        processes.withLock { $0[ObjectIdentifier(store)] = etcd }
        return store
    } cleanup: { store in
        guard let store = store as? EtcdStore else { return }
        processes.withLock { $0.removeValue(forKey: ObjectIdentifier(store)) }?.stop()
    }

    @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
        try await Self.suite.run(check)
    }
}
