import ConsulClient
import Logging
import MicroCore
import Synchronization

/// go-micro's Consul registry (`MICRO_REGISTRY=consul`) over the Consul agent HTTP API, so Go and
/// Swift services find each other in one Consul.
///
/// - Register: each node becomes an agent service, `PUT /v1/agent/service/register` with ID = node
///   id, Name = service name, Address and Port from the node, go-micro's tags (``ConsulTags``) and,
///   with a TTL, a TTL check whose `DeregisterCriticalServiceAfter` is the TTL plus a splay (at least
///   1 min plus splay); then the check is passed. Registering an unchanged node again only passes
///   its check (`PUT /v1/agent/check/pass/service:<id>`), a full registration follows if that fails.
/// - Deregister: `PUT /v1/agent/service/deregister/<id>` per node (an unknown id counts as done).
/// - Get: `GET /v1/health/service/<name>?passing=1`; nodes with a critical check are left out, the
///   rest grouped by version; instances whose tags do not decode are skipped and logged.
/// - List: `GET /v1/catalog/services`: names only, as go-micro.
/// - Watch: blocking queries (`index`, `wait`) on the service's health, or on the catalog and then
///   each service's health; changes become `create`/`update`/`delete` events.
/// - Requests go to the first agent of the list that answers and fail over along it.
public final class ConsulRegistry: Registry {
    public let name = "consul"
    /// Agents, token and timings.
    public let configuration: ConsulRegistryConfiguration

    private let agent: ConsulAgentClient
    private let decoder: ConsulRecordDecoder
    private let logger: Logger
    private let state = Mutex(State())
    private let watchTasks = RegistryWatchTasks()

    private struct Registration: Sendable {
        var body: [UInt8]
        var hasTTL: Bool
        var registeredAt: ContinuousClock.Instant
    }

    private struct State {
        var registrations: [String: Registration] = [:]
        var closed = false
    }

    /// A registry on the configured agents.
    public init(configuration: ConsulRegistryConfiguration = ConsulRegistryConfiguration(),
                logger: Logger = Logger(label: "micro.registry.consul")) {
        self.configuration = configuration
        self.logger = logger
        agent = ConsulAgentClient(configuration: configuration.agent, logger: logger)
        decoder = ConsulRecordDecoder(maxTagBytes: configuration.maxTagBytes, logger: logger)
    }

    /// A registry on the agents of a comma-separated list (`MICRO_REGISTRY_ADDRESS`; empty or nil:
    /// `127.0.0.1:8500`), otherwise the defaults.
    public convenience init(addresses: String?, logger: Logger = Logger(label: "micro.registry.consul")) {
        self.init(configuration: ConsulRegistryConfiguration(addresses: addresses), logger: logger)
    }

    // MARK: Register

    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        try checkOpen()
        guard !service.name.isEmpty else { throw ConsulError(.invalidArgument, "a service needs a name") }
        guard !service.nodes.isEmpty else { throw ConsulError(.invalidArgument, "require at least one node") }
        var failure: (any Error)?
        for node in service.nodes {
            do { try await register(ConsulServiceRegistration(service: service, node: node, ttl: ttl, configuration: configuration)) } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    private func register(_ registration: ConsulServiceRegistration) async throws(ConsulError) {
        let body = registration.json
        let hasTTL = registration.ttl != nil
        let existing = state.withLock { $0.registrations[registration.id] }
        if let existing, existing.body == body {
            if hasTTL {
                // A heartbeat: pass the check; if that fails the agent lost it, so register in full.
                do {
                    try await agent.passTTL(serviceID: registration.id)
                    return
                } catch where error.code == .notFound || error.code == .agentError {
                    logger.info("Consul check pass failed, registering again", metadata: ["id": "\(registration.id)", "error": "\(error)"])
                }
            } else if ContinuousClock.now - existing.registeredAt < configuration.deregisterCriticalServiceAfter(ttl: .zero) {
                // No check to pass; go-micro re-registers only after the deregistration window.
                return
            }
        }
        try await agent.register(registration)
        state.withLock { $0.registrations[registration.id] = Registration(body: body, hasTTL: hasTTL, registeredAt: .now) }
        if hasTTL { try await agent.passTTL(serviceID: registration.id) }
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
            state.withLock { _ = $0.registrations.removeValue(forKey: node.id) }
            do {
                try await agent.deregister(id: node.id)
            } catch where error.code == .notFound {
                logger.debug("Consul did not know the deregistered node", metadata: ["id": "\(node.id)"])
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    // MARK: Queries

    public func getService(_ name: String) async throws -> [ServiceRecord] {
        try checkOpen()
        let answer = try await agent.health(service: name)
        return decoder.records(name, from: answer.value)
    }

    public func listServices() async throws -> [ServiceRecord] {
        try checkOpen()
        let answer = try await agent.catalogServices()
        return answer.value.keys.sorted().map { ServiceRecord(name: $0, version: "") }
    }

    // MARK: Watch

    public func watch(service: String?) async throws -> RegistryWatch {
        try checkOpen()
        let (stream, continuation) = RegistryWatch.makeStream(bufferingPolicy: .bufferingNewest(max(1, configuration.watchBufferLimit)))
        let watcher = ConsulWatcher(agent: agent, configuration: configuration, decoder: decoder, logger: logger, continuation: continuation)
        // What exists now is the starting point: it is not reported, changes after it are.
        let body: @Sendable () async -> Void
        if let service {
            let answer = try await agent.health(service: service)
            var view = ConsulServiceView(name: service)
            _ = view.apply(decoder.records(service, from: answer.value))
            let seeded = view
            body = { _ = await watcher.follow(service: service, view: seeded, index: answer.index) }
        } else {
            let catalog = try await agent.catalogServices()
            var seeded: [String: (view: ConsulServiceView, index: UInt64)] = [:]
            for name in catalog.value.keys {
                let answer = try await agent.health(service: name)
                var view = ConsulServiceView(name: name)
                _ = view.apply(decoder.records(name, from: answer.value))
                seeded[name] = (view, answer.index)
            }
            let seeds = seeded
            body = { await watcher.followAll(seeded: seeds, index: catalog.index) }
        }
        guard watchTasks.start(continuation, body) else { throw ConsulError(.shutdown, "the registry is shut down") }
        return stream
    }

    // MARK: Shutdown

    /// Ends every watch and closes the agent connections. Registered nodes stay in Consul: with a TTL
    /// their checks turn critical and Consul removes them after `DeregisterCriticalServiceAfter`.
    public func shutdown() async {
        state.withLock { $0.closed = true }
        await watchTasks.close()
        await agent.shutdown()
    }

    private func checkOpen() throws(ConsulError) {
        if state.withLock({ $0.closed }) { throw ConsulError(.shutdown, "the registry is shut down") }
    }
}
