import Logging
import MicroCore
import NATSClient
import Synchronization

/// What every scope of one ``NATSStore`` shares: the connection, the configuration, the buckets known
/// to exist, and whether the store was shut down (shutting down any scope closes them all).
final class NATSStoreBackend: Sendable {
    let source: NATSConnectionSource
    let configuration: NATSStoreConfiguration
    let logger: Logger
    private let buckets = Mutex<[String: KeyValue]>([:])
    private let closed = Mutex(false)

    init(source: NATSConnectionSource, configuration: NATSStoreConfiguration, logger: Logger) {
        self.source = source
        self.configuration = configuration
        self.logger = logger
    }

    /// Throws ``MicroCore/StoreError/Code/unavailable`` once the store is shut down.
    func checkOpen() throws {
        if closed.withLock({ $0 }) { throw StoreError(.unavailable, "the nats store is shut down") }
    }

    /// A JetStream context on the connection (connecting first if needed).
    func jetStream() async throws -> JetStream {
        JetStream(connection: try await source.get(), options: JetStreamOptions(timeout: configuration.timeout))
    }

    /// The bucket `name`: from the ones known, else opened (nil when it does not exist and `create` is
    /// false), else created with the configuration's settings (one per key: history 1).
    func bucket(_ name: String, create: Bool) async throws -> KeyValue? {
        if let known = buckets.withLock({ $0[name] }) { return known }
        let js = try await jetStream()
        var bucket = try await js.keyValue(name)
        if bucket == nil, create {
            let settings = KeyValueConfiguration(bucket: name, description: "swift micro store", history: 1,
                                                 storage: configuration.storage, replicas: configuration.replicas)
            do {
                bucket = try await js.createKeyValue(settings)
            } catch let error as JetStreamError where error.errorCode == .streamNameExists {
                bucket = try await js.keyValue(name)  // made meanwhile by another writer, with other settings
            }
        }
        guard let opened = bucket else { return nil }
        let chosen = try KeyValue(bucket: name, jetStream: js, allowDirect: configuration.directGets && opened.allowDirect)
        buckets.withLock { $0[name] = chosen }
        return chosen
    }

    /// Forgets a bucket that turned out to be gone (deleted from outside).
    func forget(_ name: String) {
        _ = buckets.withLock { $0.removeValue(forKey: name) }
    }

    /// Marks the store closed and closes a connection of its own (once).
    func close() async {
        let first = closed.withLock { wasClosed -> Bool in
            defer { wasClosed = true }
            return !wasClosed
        }
        if first { await source.close() }
    }
}
