import EtcdClient
import Logging
import MicroCore
import Synchronization

/// go-micro's etcd registry (`MICRO_REGISTRY=etcd`): each node is the key
/// `/micro/registry/<service>/<node id>` holding go-micro's Service JSON with that one node, under a
/// lease of the registration's TTL, so Go and Swift services find each other in one etcd.
///
/// - Register writes the key under a lease granted for the TTL (a registration without TTL has no
///   lease). Registering again refreshes the lease over the client's one shared keep-alive stream (and
///   rewrites the value only when the record changed); see ``EtcdRegistryConfiguration/LeaseRenewal``.
///   A lease that expired meanwhile is granted anew.
/// - Deregister deletes the key and revokes its lease.
/// - Get and list read the prefix (page by page, at one revision); values that are not registry
///   records are skipped and logged.
/// - Watch reads the prefix, then follows etcd's watch from the next revision: puts and deletes
///   (including lease expiries) become `create`/`update`/`delete` events as in every registry. The
///   client's watch stream survives the loss of a member; if the history it needs was compacted, the
///   watch reads the prefix again and reports the difference.
public final class EtcdRegistry: Registry {
    public let name = "etcd"
    /// The client, which others may share.
    public let client: EtcdConnection
    /// How leases are kept and reads are made.
    public let configuration: EtcdRegistryConfiguration

    private let ownsClient: Bool
    private let logger: Logger
    private let codec: EtcdRegistryCodec
    private let locks = EtcdKeyedLock()
    private let state = Mutex(State())
    private let watchTasks = RegistryWatchTasks()
    /// Re-registrations after a lost lease.
    private let repairs = OwnedTasks()

    private struct Registration: Sendable {
        var record: ServiceRecord
        var value: [UInt8]
        /// The TTL in whole seconds (nil: no lease).
        var ttl: Int64?
        /// The lease (0: none).
        var lease: Int64
    }

    private struct State {
        var registrations: [String: Registration] = [:]
        var closed = false
    }

    /// A registry on `client`, which others may share; ``shutdown()`` leaves it open.
    public init(client: EtcdConnection, configuration: EtcdRegistryConfiguration = EtcdRegistryConfiguration(),
                logger: Logger = Logger(label: "micro.registry.etcd")) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        ownsClient = false
        codec = EtcdRegistryCodec(maxValueBytes: configuration.maxValueBytes, logger: logger)
    }

    /// A registry with a client of its own on `etcd`'s members, closed by ``shutdown()``.
    public init(etcd: EtcdConfiguration, configuration: EtcdRegistryConfiguration = EtcdRegistryConfiguration(),
                logger: Logger = Logger(label: "micro.registry.etcd")) throws {
        client = try EtcdConnection(configuration: etcd, logger: logger)
        self.configuration = configuration
        self.logger = logger
        ownsClient = true
        codec = EtcdRegistryCodec(maxValueBytes: configuration.maxValueBytes, logger: logger)
    }

    /// A registry on the members in a comma-separated list (`MICRO_REGISTRY_ADDRESS`; empty or nil:
    /// `127.0.0.1:2379`, go-micro's default).
    public convenience init(addresses: String?, configuration: EtcdRegistryConfiguration = EtcdRegistryConfiguration(),
                            logger: Logger = Logger(label: "micro.registry.etcd")) throws {
        try self.init(etcd: EtcdConfiguration(addresses: addresses), configuration: configuration, logger: logger)
    }

    // MARK: Register

    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        try checkOpen()
        guard !service.name.isEmpty else { throw EtcdError(.invalidArgument, "a service needs a name") }
        guard !service.nodes.isEmpty else { throw EtcdError(.invalidArgument, "require at least one node") }
        var failure: (any Error)?
        for node in service.nodes {
            var record = service
            record.nodes = [node]
            do { try await register(node: record, ttl: ttl.map(EtcdConnection.seconds)) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private func register(node record: ServiceRecord, ttl: Int64?) async throws {
        let key = EtcdRegistryKey(service: record.name, node: record.nodes[0].id).key
        let value = try codec.encode(record)
        try await locks.withLock(key) {
            let existing = state.withLock { $0.registrations[key] }
            if let existing, existing.ttl == ttl {
                if existing.lease != 0 {
                    do {
                        // A heartbeat: refresh the lease over the shared stream; rewrite only a changed record.
                        _ = try await client.refreshLease(existing.lease)
                        if existing.value != value {
                            try await client.put(key, value: value, lease: existing.lease)
                            remember(key, Registration(record: record, value: value, ttl: ttl, lease: existing.lease))
                        }
                        return
                    } catch let error as EtcdError where error.code == .leaseNotFound {
                        logger.info("etcd lease expired, registering again", metadata: ["key": "\(key)", "lease": "\(existing.lease)"])
                    }
                }
            }
            var lease = EtcdLease(id: 0, ttl: 0)
            if let ttl { lease = try await client.grantLease(ttl: .seconds(ttl)) }
            do {
                try await client.put(key, value: value, lease: lease.id)
            } catch {
                if lease.id != 0 { try? await client.revokeLease(lease.id) }
                throw error
            }
            remember(key, Registration(record: record, value: value, ttl: ttl, lease: lease.id))
            if lease.id != 0, configuration.leaseRenewal == .continuous {
                try client.keepAlive(lease: lease.id, ttl: lease.ttl) { [weak self] lost in self?.leaseLost(key: key, lease: lost) }
            }
            if let old = existing?.lease, old != 0, old != lease.id {
                // The key moved to the new lease; the old one holds nothing of ours any more.
                client.stopKeepAlive(old)
                try? await client.revokeLease(old)
            }
        }
    }

    private func remember(_ key: String, _ registration: Registration) {
        state.withLock { $0.registrations[key] = registration }
    }

    /// A continuously kept lease is gone (it expired while no member answered): register again now.
    private func leaseLost(key: String, lease: Int64) {
        guard let registration = state.withLock({ s -> Registration? in
            guard !s.closed, let r = s.registrations[key], r.lease == lease else { return nil }
            return r
        }) else { return }
        repairs.spawn { [weak self] in
            guard let self else { return }
            do {
                try await self.register(node: registration.record, ttl: registration.ttl)
            } catch {
                self.logger.warning("re-registering after a lost etcd lease failed; the next registration retries",
                                    metadata: ["key": "\(key)", "error": "\(error)"])
            }
        }
    }

    // MARK: Deregister

    public func deregister(_ service: ServiceRecord) async throws {
        try checkOpen()
        var nodes = service.nodes
        if nodes.isEmpty {
            // Every node of that version (the RegistryState contract for a record without nodes).
            nodes = try await getService(service.name).filter { $0.version == service.version }.flatMap(\.nodes)
        }
        var failure: (any Error)?
        for node in nodes {
            let key = EtcdRegistryKey(service: service.name, node: node.id).key
            do {
                try await locks.withLock(key) {
                    let registration = state.withLock { $0.registrations.removeValue(forKey: key) }
                    if let lease = registration?.lease, lease != 0 { client.stopKeepAlive(lease) }
                    try await client.delete(.key(key))
                    if let lease = registration?.lease, lease != 0 {
                        do { try await client.revokeLease(lease) } catch {
                            logger.debug("revoking a deregistered node's lease failed; it expires by itself",
                                         metadata: ["key": "\(key)", "error": "\(error)"])
                        }
                    }
                }
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    // MARK: Queries

    public func getService(_ name: String) async throws -> [ServiceRecord] {
        try checkOpen()
        let result = try await client.rangeAll(.prefix(EtcdRegistryKey.servicePrefix(name)), serializable: configuration.serializableReads)
        var found = RegistryState()
        for kv in result.kvs {
            guard let record = codec.decode(kv), record.name == name else { continue }
            _ = found.register(record, ttl: nil)
        }
        return found.get(name)
    }

    public func listServices() async throws -> [ServiceRecord] {
        try checkOpen()
        let result = try await client.rangeAll(.prefix(EtcdRegistryKey.prefix), serializable: configuration.serializableReads)
        var found = RegistryState()
        for kv in result.kvs {
            guard let record = codec.decode(kv) else { continue }
            _ = found.register(record, ttl: nil)
        }
        return found.list()
    }

    /// The records this process registered and keeps (its own registrations).
    public var localServices: [ServiceRecord] {
        var s = RegistryState()
        for r in state.withLock({ Array($0.registrations.values) }) { _ = s.register(r.record, ttl: nil) }
        return s.list()
    }

    // MARK: Watch

    public func watch(service: String?) async throws -> RegistryWatch {
        try checkOpen()
        let prefix = EtcdKeyRange.prefix(service.map(EtcdRegistryKey.servicePrefix) ?? EtcdRegistryKey.prefix)
        // What exists now is the starting point; the watch continues from the revision after it.
        var view = EtcdRegistryView(service: service)
        let snapshot = try await client.rangeAll(prefix, serializable: configuration.serializableReads)
        for kv in snapshot.kvs { _ = view.put(key: kv.key, record: codec.decode(kv)) }
        let seeded = view
        let (stream, continuation) = RegistryWatch.makeStream(bufferingPolicy: .bufferingNewest(max(1, configuration.watchBufferLimit)))
        let started = watchTasks.start(continuation) { [client, codec, logger, serializable = configuration.serializableReads] in
            await Self.follow(client: client, codec: codec, logger: logger, prefix: prefix, serializable: serializable,
                              view: seeded, from: snapshot.revision + 1, continuation: continuation)
        }
        guard started else { throw EtcdError(.shutdown, "the registry is shut down") }
        return stream
    }

    /// Turns the watch's batches into registry events until cancelled; reads the prefix again when
    /// etcd compacted the history the watch needed.
    private static func follow(client: EtcdConnection, codec: EtcdRegistryCodec, logger: Logger, prefix: EtcdKeyRange, serializable: Bool,
                               view: EtcdRegistryView, from revision: Int64, continuation: RegistryWatch.Continuation) async {
        var view = view
        var revision = revision
        while !Task.isCancelled {
            do {
                for try await batch in client.watch(prefix, fromRevision: revision) {
                    for event in batch.events {
                        let changes: [RegistryEvent]
                        switch event.kind {
                        case .put: changes = view.put(key: event.kv.key, record: codec.decode(event.kv))
                        case .delete: changes = view.delete(key: event.kv.key)
                        }
                        for change in changes { continuation.yield(change) }
                        revision = max(revision, event.kv.modRevision + 1)
                    }
                }
                // The iteration ends without error only when this task is cancelled.
                break
            } catch let error as EtcdError where error.code == .compacted || error.code == .slowConsumer {
                logger.info("etcd registry watch lost its place, reading the registry again", metadata: ["error": "\(error)"])
                do {
                    let snapshot = try await client.rangeAll(prefix, serializable: serializable)
                    let changes = view.resync(snapshot.kvs.map { ($0.key, codec.decode($0)) })
                    for change in changes { continuation.yield(change) }
                    revision = snapshot.revision + 1
                } catch {
                    continuation.finish(throwing: error)
                    return
                }
            } catch {
                continuation.finish(throwing: error)
                return
            }
        }
        continuation.finish()
    }

    // MARK: Shutdown

    /// Ends every watch and stops keeping this registry's leases alive (its nodes expire after their
    /// TTL unless deregistered first); a client of its own is shut down.
    public func shutdown() async {
        let leases = state.withLock { s -> [Int64] in
            s.closed = true
            return s.registrations.values.map(\.lease).filter { $0 != 0 }
        }
        await watchTasks.close()
        await repairs.close()
        for lease in leases { client.stopKeepAlive(lease) }
        if ownsClient { await client.shutdown() }
    }

    private func checkOpen() throws {
        if state.withLock({ $0.closed }) { throw EtcdError(.shutdown, "the registry is shut down") }
    }
}
