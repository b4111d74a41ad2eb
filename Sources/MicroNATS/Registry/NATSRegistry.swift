import Foundation
import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// go-micro's NATS registry: no central store, every process answers for the services it registered.
///
/// - Register keeps the record in this process, answers queries for it on the query topic (one
///   reply per service version, the record as go-micro's Service JSON) and announces
///   `{"Action":"create","Service":...}` on the watch topic; deregister announces `delete`.
/// - Get and list publish `{"Action":"get"|"list","Service":...}` on the query topic with a reply
///   inbox and merge the answers (nodes of one name and version together) until no answer came for
///   a quiet period (at least ``NATSRegistryConfiguration/queryTimeout``, at most
///   ``NATSRegistryConfiguration/maxQueryTime``).
/// - TTL: a process stops answering for a record it did not re-register within its TTL, and
///   announces its `delete`; a process that died stops answering at once. Watch events carry the TTL
///   (a Swift Micro addition), so a watch expires nodes whose process died without deregistering.
/// - Watch turns the announcements into the same `create`/`update`/`delete` events as the other
///   registries (a heartbeat is silent), starting from what a query finds when the watch opens.
public final class NATSRegistry: Registry {
    public let name = "nats"
    /// Topics and timings.
    public let configuration: NATSRegistryConfiguration

    private let source: NATSConnectionSource
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let watchTasks = RegistryWatchTasks()
    /// The task answering other members' queries, from the first registration until shutdown.
    private let answering = OwnedTasks()

    private struct State {
        /// What this process registered (answered for).
        var local = RegistryState()
        var answerer: NATSSubscription?
        var closed = false
    }

    /// A registry on `connection`, which others may share; ``shutdown()`` leaves it open.
    public init(connection: NATSConnection, configuration: NATSRegistryConfiguration = NATSRegistryConfiguration(),
                logger: Logger = Logger(label: "micro.registry.nats")) {
        self.source = NATSConnectionSource(shared: connection, logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    /// A registry that connects with `options` on first use and closes that connection on ``shutdown()``.
    public init(options: NATSOptions = NATSOptions(), configuration: NATSRegistryConfiguration = NATSRegistryConfiguration(),
                logger: Logger = Logger(label: "micro.registry.nats")) {
        self.source = NATSConnectionSource(options: options, logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()
    static let decoder = JSONDecoder()

    // MARK: Register

    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        let connection = try await liveConnection()
        let expired = try state.withLockedValue { s -> [ServiceRecord] in
            guard !s.closed else { throw TransportError(.shutdown, address: configuration.queryTopic, detail: "registry is shut down") }
            if s.answerer == nil { try startAnswering(on: connection, state: &s) }
            let expired = Self.expire(&s.local)
            _ = s.local.register(service, ttl: ttl)
            return expired
        }
        await announce(expired, on: connection)
        try await publish(NATSRegistryResult(action: "create", service: service, ttl: ttl), to: configuration.watchTopic, on: connection)
        // Once this returns the answerer is subscribed and the announcement sent: other processes see it.
        try await connection.flush()
    }

    public func deregister(_ service: ServiceRecord) async throws {
        let connection = try await liveConnection()
        let expired = state.withLockedValue { s -> [ServiceRecord] in
            let expired = Self.expire(&s.local)
            _ = s.local.deregister(service)
            return expired
        }
        await announce(expired, on: connection)
        try await publish(NATSRegistryResult(action: "delete", service: service), to: configuration.watchTopic, on: connection)
        try await connection.flush()
    }

    /// The records this process answers for (its own registrations still within their TTL).
    public var localServices: [ServiceRecord] {
        state.withLockedValue { s in
            _ = Self.expire(&s.local)
            return s.local.list()
        }
    }

    private func liveConnection() async throws -> NATSConnection {
        guard !state.withLockedValue({ $0.closed }) else {
            throw TransportError(.shutdown, address: configuration.queryTopic, detail: "registry is shut down")
        }
        return try await source.get()
    }

    private func publish(_ result: NATSRegistryResult, to subject: String, replyTo: String? = nil, on connection: NATSConnection) async throws {
        let payload = ByteBuffer(data: try Self.encoder.encode(result))
        try await connection.publish(subject, payload: payload, replyTo: replyTo)
    }

    /// Announces `delete` for own nodes whose TTL passed (each record holding just those nodes).
    private func announce(_ expired: [ServiceRecord], on connection: NATSConnection) async {
        for gone in expired {
            do { try await publish(NATSRegistryResult(action: "delete", service: gone), to: configuration.watchTopic, on: connection) } catch {
                logger.debug("announcing an expired registration failed", metadata: ["service": "\(gone.name)", "error": "\(error)"])
            }
        }
    }

    /// Drops own nodes whose TTL passed; returns them, grouped in records by name and version.
    private static func expire(_ local: inout RegistryState) -> [ServiceRecord] {
        let before = local.list()
        guard !local.expire().isEmpty else { return [] }
        var alive: [String: Set<String>] = [:]
        for r in local.list() { alive[r.name + "\u{0}" + r.version] = Set(r.nodes.map(\.id)) }
        return before.compactMap { record in
            let keep = alive[record.name + "\u{0}" + record.version] ?? []
            var gone = record
            gone.nodes = record.nodes.filter { !keep.contains($0.id) }
            return gone.nodes.isEmpty ? nil : gone
        }
    }

    // MARK: Answering queries

    /// Subscribes the query topic; the answering task lives until shutdown.
    private func startAnswering(on connection: NATSConnection, state s: inout State) throws {
        let subscription = try connection.subscribe(configuration.queryTopic)
        answering.spawn { [weak self] in
            for await message in subscription {
                guard let self else { return }
                await self.answer(message, on: connection)
            }
        }
        s.answerer = subscription
    }

    private func answer(_ message: NATSMessage, on connection: NATSConnection) async {
        guard let replyTo = message.replyTo, !replyTo.isEmpty else { return }
        let query: NATSRegistryResult
        do { query = try Self.decoder.decode(NATSRegistryResult.self, from: Data(buffer: message.payload, byteTransferStrategy: .noCopy)) } catch {
            logger.debug("ignoring a malformed registry query", metadata: ["error": "\(error)"])
            return
        }
        let (records, expired): ([ServiceRecord], [ServiceRecord]) = state.withLockedValue { s in
            let expired = Self.expire(&s.local)
            switch query.action {
            case "get":
                guard let name = query.service?.name else { return ([], expired) }
                return (s.local.get(name), expired)
            case "list":
                return (s.local.list(), expired)
            default:
                return ([], expired)
            }
        }
        await announce(expired, on: connection)
        for record in records {
            do {
                try await connection.publish(replyTo, payload: ByteBuffer(data: try Self.encoder.encode(record)))
            } catch {
                logger.warning("answering a registry query failed", metadata: ["service": "\(record.name)", "error": "\(error)"])
            }
        }
    }

    // MARK: Queries

    public func getService(_ name: String) async throws -> [ServiceRecord] {
        let connection = try await liveConnection()
        let found = try await NATSRegistryQuery.run(NATSRegistryResult(action: "get", service: ServiceRecord(name: name)),
                                                    on: connection, configuration: configuration, logger: logger)
        return found.get(name)
    }

    public func listServices() async throws -> [ServiceRecord] {
        let connection = try await liveConnection()
        return try await NATSRegistryQuery.run(NATSRegistryResult(action: "list", service: nil),
                                               on: connection, configuration: configuration, logger: logger).list()
    }

    // MARK: Watch

    public func watch(service: String?) async throws -> RegistryWatch {
        let connection = try await liveConnection()
        let subscription = try connection.subscribe(configuration.watchTopic)
        let view: RegistryState
        do {
            try await connection.flush()
            // What exists now is the starting point: announcements of it (heartbeats) are not news.
            let query = service.map { NATSRegistryResult(action: "get", service: ServiceRecord(name: $0)) }
                ?? NATSRegistryResult(action: "list", service: nil)
            let found = try await NATSRegistryQuery.run(query, on: connection, configuration: configuration, logger: logger)
            var seeded = RegistryState()
            for record in found.list() where service == nil || record.name == service {
                _ = seeded.register(record, ttl: configuration.defaultWatchTTL)
            }
            view = seeded
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
        let (stream, continuation) = RegistryWatch.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let watcher = NATSRegistryWatcher(service: service, view: view, subscription: subscription, continuation: continuation,
                                          configuration: configuration, logger: logger)
        let started = watchTasks.start(continuation, onEnd: { try? subscription.unsubscribe() }) { await watcher.run() }
        guard started else { throw TransportError(.shutdown, address: configuration.watchTopic, detail: "registry is shut down") }
        return stream
    }

    // MARK: Shutdown

    /// Stops answering queries and ends every watch (waiting for their tasks); an owned connection is
    /// drained and closed. Registrations are not withdrawn: deregister first for that.
    public func shutdown() async {
        let answerer = state.withLockedValue { s in
            s.closed = true
            defer { s.answerer = nil }
            return s.answerer
        }
        try? answerer?.unsubscribe()
        await answering.close()
        await watchTasks.close()
        await source.close()
    }
}
