import EtcdClient
import MicroCore

/// The holders of one lock key as etcd reports them (``EtcdSync/watchHolder(of:)``): the holder now,
/// then one element per put or delete of the key from an etcd watch that starts at the revision after
/// that read. The client's watch stream resumes from the next revision when a member is lost; when etcd
/// compacted the history it needs, the key is read again and watched from there.
struct EtcdHolderWatch: AsyncSequence, Sendable {
    typealias Element = LockHolder?
    let sync: EtcdSync
    let key: String

    func makeAsyncIterator() -> Iterator { Iterator(sync: sync, key: key) }

    /// Reads, then follows the watch.
    struct Iterator: AsyncIteratorProtocol {
        let sync: EtcdSync
        let key: String
        var pending: [LockHolder?] = []
        var watch: EtcdWatch.AsyncIterator?

        init(sync: EtcdSync, key: String) {
            self.sync = sync
            self.key = key
        }

        mutating func next() async throws -> LockHolder?? {
            while pending.isEmpty {
                if Task.isCancelled { return nil }
                do {
                    guard var iterator = watch else {
                        try SyncName.validate(key: key)
                        let etcdKey = sync.etcdKey(key)
                        let read = try await sync.client.range(.key(etcdKey), limit: 1)
                        pending.append(try read.kvs.first.map { try sync.lockHolder($0, key: key) })
                        watch = sync.client.watch(.key(etcdKey), fromRevision: read.revision + 1).makeAsyncIterator()
                        continue
                    }
                    // nil: the task was cancelled (the stream ends then) or the client shut down.
                    guard let response = try await iterator.next() else { return nil }
                    watch = iterator
                    for event in response.events {
                        pending.append(event.kind == .delete ? nil : try sync.lockHolder(event.kv, key: key))
                    }
                } catch let error as EtcdError where error.code == .compacted {
                    watch = nil
                } catch {
                    if Task.isCancelled { return nil }
                    throw EtcdSync.syncError(error, "observe \(key)")
                }
            }
            return .some(pending.removeFirst())
        }
    }
}
