import EtcdClient
import Logging
import MicroCore
import Synchronization

/// What every scope of one ``EtcdStore`` shares: the client, the configuration and whether the store
/// was shut down (shutting down any scope closes them all).
final class EtcdStoreBackend: Sendable {
    let client: EtcdConnection
    let configuration: EtcdStoreConfiguration
    let logger: Logger
    /// The leases of TTL writes, shared by every scope.
    let leases = EtcdStoreLeases()
    private let ownsClient: Bool
    private let closed = Mutex(false)

    init(client: EtcdConnection, ownsClient: Bool, configuration: EtcdStoreConfiguration, logger: Logger) {
        self.client = client
        self.ownsClient = ownsClient
        self.configuration = configuration
        self.logger = logger
    }

    /// Throws ``StoreError/Code/unavailable`` once the store is shut down.
    func checkOpen() throws {
        if closed.withLock({ $0 }) { throw StoreError(.unavailable, "the etcd store is shut down") }
    }

    /// Marks the store closed and shuts down a client of its own (once).
    func close() async {
        let first = closed.withLock { wasClosed -> Bool in
            defer { wasClosed = true }
            return !wasClosed
        }
        if first, ownsClient { await client.shutdown() }
    }
}
