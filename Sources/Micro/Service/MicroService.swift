import Foundation
import Logging
import MicroCore
import MicroHTTP
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Tracing
import UnixSignals

/// A service (go-micro's `micro.Service`): handlers and subscribers, a server, a client, and its
/// registration. It is a swift-service-lifecycle `Service` that runs its parts in one `ServiceGroup`:
/// on graceful shutdown it deregisters, unsubscribes, stops accepting, drains calls in flight
/// (bounded) and closes the engines it made, so nothing of it is left running.
public final class MicroService: ServiceLifecycle.Service, Sendable {
    /// The registered name.
    public let name: String
    /// The registered version.
    public let version: String
    /// This instance's node id, `<name>-<uuid>`.
    public let nodeID: String
    /// The router handlers are registered on.
    public let router: Router
    /// The auth `MICRO_AUTH` chose (nil: calls are not checked): every call and delivery is verified
    /// against its rules, and with `MICRO_AUTH_ID`/`MICRO_AUTH_SECRET` the service signs in at start.
    public let auth: (any Auth)?
    /// The token this service calls and publishes with (empty until it signed in).
    public let credentials = ServiceCredentials()
    private let authAccount: (id: String, secret: String)?
    /// A client on the same registry and broker, reaching nodes over every known transport.
    public let client: Client
    /// The registry the service registers in.
    public let registry: any Registry
    /// The broker subscribers listen on.
    public let broker: any Broker
    /// The store `MICRO_STORE` chooses (or the one given), bound to ``StoreScope/default``;
    /// `store.scoped(...)` reaches other tables. A backend opens its files or connections on first use.
    public let store: any Store
    /// Locks and leader election on the engine `MICRO_SYNC` chooses (or the one given): `sync.lock`,
    /// `sync.withLock`, `sync.leader`. An engine connects on first use.
    public let sync: any Sync
    /// The event stream `MICRO_EVENTS` chooses (or the one given): publish events and consume them in
    /// groups, at least once. Default `memory` (one per process).
    public let events: any EventStream
    /// The event store `MICRO_EVENT_STORE` chooses (or the one given): events by topic and time.
    public let eventStore: any EventStore
    /// The service's debug buffers and figures, answered by `Debug.Log`, `Debug.LogStream`, `Debug.Stats`
    /// and `Debug.Trace`; nil when ``ServiceOptions/debug`` is nil.
    public let debug: ServiceDebug?
    /// The options the service runs with (TTL and interval resolved against `MICRO_*`).
    public let options: ServiceOptions
    private let timing: RegistrationTiming
    private let serverTransport: any ServerTransport
    private let transportName: String
    /// The engines the service made (not those it was given), closed when it stops.
    private let ownedEngines: [any Engine]
    private let logger: Logger

    private struct Subscription: Sendable {
        let topic: String
        let queue: String?
        let endpoint: Endpoint
        let handler: @Sendable (BrokerEvent) async throws -> Void
    }

    private struct State {
        var subscriptions: [Subscription] = []
        var subscriberWrappers: [any SubscriberWrapper] = []
        var address: String?
        var stop: AsyncStream<Void>.Continuation?
        var stopRequested = false
    }

    private let state = NIOLockedValueBox(State())

    /// A service on the engines `MICRO_*` variables choose among the embedded ones and `plugins`'
    /// (say `[.nats, .grpc]`), or on a registry, broker, transport, store, event stream, event store and sync given here.
    public init(name: String, version: String = "latest", options: ServiceOptions = ServiceOptions(),
                environment: MicroEnvironment = MicroEnvironment(), plugins: [EnginePlugin] = [],
                registry: (any Registry)? = nil, broker: (any Broker)? = nil, store: (any Store)? = nil,
                events: (any EventStream)? = nil, eventStore: (any EventStore)? = nil, sync: (any Sync)? = nil,
                transport: (client: any ClientTransport, server: any ServerTransport)? = nil,
                callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [], logger: Logger? = nil) throws {
        guard !name.isEmpty else { throw ConfigurationError("a service needs a name") }
        self.name = name
        self.version = version
        self.nodeID = "\(name)-\(UUID().uuidString.lowercased())"
        var options = options
        if options.address == nil { options.address = environment.serverAddress }
        let timing = try RegistrationTiming(ttl: options.registerTTLIsExplicit ? options.registerTTL : nil,
                                            interval: options.registerIntervalIsExplicit ? options.registerInterval : nil,
                                            environment: environment)
        options.resolve(timing)
        self.options = options
        self.timing = timing
        let debug = options.debug.map { ServiceDebug(service: name, limits: $0, upstream: options.tracer) }
        self.debug = debug
        var logger = logger ?? Logger(label: "micro.service")
        if let debug { logger = debug.tee(logger) }
        logger[metadataKey: "service"] = "\(name)"
        self.logger = logger

        let engines = Engines.embedded.adding(plugins)
        var context = EngineContext(environment: environment, logger: logger)
        context.options[HTTPTransportOptions.self] = options.http
        var owned: [any Engine] = []
        let registry = try registry ?? { let r = try engines.makeRegistry(context); owned.append(r); return r }()
        context.registry = registry
        self.registry = registry
        let broker = try broker ?? { let b = try engines.makeBroker(context); owned.append(b); return b }()
        self.broker = broker
        let chosen = try transport ?? engines.makeTransport(context)
        self.serverTransport = chosen.server
        self.transportName = transport == nil ? environment.transport : Self.transportName(of: chosen.server)
        self.router = Router(serviceName: name, logger: logger)
        var calls = callWrappers
        var publishes = publishWrappers
        if environment.auth != nil {
            calls.append(AuthCallWrapper(credentials: credentials))
            publishes.append(AuthPublishWrapper(credentials: credentials))
        }
        if let debug {
            debug.register(on: router)
            router.use(debug.requests)
        }
        if options.observability {
            // The debug tracer keeps spans for `Debug.Trace` and passes them on to a bootstrapped tracer.
            let tracer: (any Tracer)? = debug?.tracer ?? options.tracer
            let metrics = options.metricsFactory
            router.use(TracingHandlerWrapper(tracer: tracer))
            router.use(MetricsHandlerWrapper(factory: metrics))
            calls = [TracingCallWrapper(tracer: tracer), MetricsCallWrapper(factory: metrics)] + calls
            publishes = [TracingPublishWrapper(tracer: tracer), MetricsPublishWrapper(factory: metrics)] + publishes
            state.withLockedValue { $0.subscriberWrappers = [TracingSubscriberWrapper(tracer: tracer), MetricsSubscriberWrapper(factory: metrics)] }
        }
        self.client = Client(registry: registry, transports: try engines.clientTransports(primary: chosen.client, context),
                             broker: broker, defaults: options.callDefaults, callWrappers: calls, publishWrappers: publishes,
                             fromService: name)
        // After the client: a store that calls a store service (`MICRO_STORE=service`) calls through it.
        context.client = client
        self.store = try store ?? { let s = try engines.makeStore(context); owned.append(s); return s }()
        self.sync = try sync ?? { let s = try engines.makeSync(context); owned.append(s); return s }()
        self.events = try events ?? { let e = try engines.makeEventStream(context); owned.append(e); return e }()
        self.eventStore = try eventStore ?? { let e = try engines.makeEventStore(context); owned.append(e); return e }()
        context.store = self.store
        let auth = try engines.makeAuth(context)
        self.auth = auth
        if let auth {
            router.use(AuthHandlerWrapper(auth: auth))
            state.withLockedValue { $0.subscriberWrappers.append(AuthSubscriberWrapper(auth: auth)) }
        }
        if let id = environment.authID, let secret = environment.authSecret, auth != nil {
            self.authAccount = (id, secret)
        } else {
            self.authAccount = nil
        }
        self.ownedEngines = owned
    }

    /// The name node metadata gives a transport that was passed in rather than chosen by name.
    private static func transportName(of server: any ServerTransport) -> String {
        if server is MemoryTransport { return "memory" }
        return ["nats", "grpc"].contains(server.protocolName) ? server.protocolName : "http"
    }

    // MARK: Handlers

    /// Registers a unary endpoint, e.g. `Greeter.Hello`.
    public func handle<Request: Sendable, Response: Sendable>(_ endpoint: String, _ body: @escaping @Sendable (Request, HandlerContext) async throws -> Response) {
        router.handle(endpoint, body)
    }

    /// Registers a server-streaming endpoint.
    public func handle<Request: Sendable, Response: Sendable>(_ endpoint: String, _ body: @escaping @Sendable (Request, ServerStream<Response>, HandlerContext) async throws -> Void) {
        router.handle(endpoint, body)
    }

    /// Registers a client-streaming endpoint.
    public func handleClientStream<Request: Sendable, Response: Sendable>(_ endpoint: String, _ body: @escaping @Sendable (RequestStream<Request>, HandlerContext) async throws -> Response) {
        router.handleClientStream(endpoint, body)
    }

    /// Registers a bidirectional-streaming endpoint.
    public func handleBidiStream<Request: Sendable, Response: Sendable>(_ endpoint: String, _ body: @escaping @Sendable (RequestStream<Request>, ServerStream<Response>, HandlerContext) async throws -> Void) {
        router.handleBidiStream(endpoint, body)
    }

    /// Registers every endpoint of a handler type.
    public func register(_ handlers: some EndpointGroup) {
        router.register(handlers)
    }

    /// Adds a handler wrapper (middleware); the first added is the outermost.
    public func use(_ wrapper: any HandlerWrapper) {
        router.use(wrapper)
    }

    /// Adds a subscriber wrapper; the first added is the outermost.
    public func use(_ wrapper: any SubscriberWrapper) {
        state.withLockedValue { $0.subscriberWrappers.append(wrapper) }
    }

    /// Subscribes to a topic with a typed handler; with a `queue`, each message goes to one member of
    /// the group. A handler that blocks its thread (writing to a pipe that may be full, synchronous
    /// I/O) is declared `blocking`: it then runs on Swift's global executor, not the broker's event loop.
    public func subscribe<Message: Sendable>(_ topic: String, queue: String? = nil, blocking: Bool = false,
                                             _ body: @escaping @Sendable (Message, SubscriberContext) async throws -> Void) {
        let codecs = Codecs.standard
        let logger = self.logger
        let handler: @Sendable (BrokerEvent) async throws -> Void = { event in
            let contentType = event.message.header("Content-Type") ?? "application/json"
            let codec = try codecs.codec(for: contentType)
            let message = try codec.decode(Message.self, from: ByteBuffer(bytes: event.message.body))
            var metadata = Metadata(event.message.header)
            metadata["Micro-Topic"] = event.topic
            var log = logger
            log[metadataKey: "topic"] = "\(event.topic)"
            let context = SubscriberContext(topic: event.topic, metadata: metadata, logger: log)
            let call = CallContext(metadata: metadata)
            try await Router.offloading(blocking) {
                try await CallContext.$current.withValue(call) {
                    try await body(message, context)
                }
            }
        }
        let endpoint = Endpoint(name: "\(name).\(topic)", request: Shape.of(Message.self), response: nil,
                                metadata: ["topic": topic, "subscriber": "true", "queue": queue ?? ""])
        state.withLockedValue { $0.subscriptions.append(Subscription(topic: topic, queue: queue, endpoint: endpoint, handler: handler)) }
    }

    // MARK: Running

    /// The bound address once running.
    public var address: String? { state.withLockedValue { $0.address } }

    /// The record this service registers (with its node once running).
    public var record: ServiceRecord {
        let (subs, address) = state.withLockedValue { ($0.subscriptions, $0.address) }
        var nodes: [Node] = []
        if let address {
            nodes.append(Node(id: nodeID, address: address, metadata: [
                "transport": transportName, "broker": broker.name, "server": transportName == "grpc" ? "grpc" : "mucp",
                "registry": registry.name, "protocol": serverTransport.protocolName,
            ]))
        }
        return ServiceRecord(name: name, version: version, metadata: options.metadata,
                             endpoints: router.endpoints + subs.map(\.endpoint), nodes: nodes)
    }

    /// Asks a running service to shut down gracefully (as SIGTERM does).
    public func stop() {
        let c = state.withLockedValue { s -> AsyncStream<Void>.Continuation? in s.stopRequested = true; return s.stop }
        c?.finish()
    }

    /// Serves until graceful shutdown (or ``stop()``): listen, subscribe, register; then, in one
    /// `ServiceGroup`, heartbeat while the engines, the server and the subscriptions run. Shutdown runs
    /// the group backwards: deregister, unsubscribe, stop accepting and drain for up to
    /// `drainTimeout`, close the client's connections, the broker and the registry.
    public func run() async throws {
        let (stopSignal, stopContinuation) = AsyncStream<Void>.makeStream()
        let alreadyStopped = state.withLockedValue { s -> Bool in
            s.stop = stopContinuation
            return s.stopRequested
        }
        if alreadyStopped { stopContinuation.finish() }

        var active: [any BrokerSubscription] = []
        var listener: (any TransportListener)?
        let refresher = auth.flatMap { auth in
            authAccount.map { ServiceTokenRefresher(auth: auth, id: $0.id, secret: $0.secret, credentials: credentials, logger: logger) }
        }
        do {
            // The service's own token before it takes calls (MICRO_AUTH_ID / MICRO_AUTH_SECRET).
            try await refresher?.signIn()
            let bound = try await serverTransport.listen(on: options.address ?? "127.0.0.1:0", handler: router)
            listener = bound
            state.withLockedValue { $0.address = bound.address }
            debug?.countConnections { bound.openConnections }
            let (subs, wrappers) = state.withLockedValue { ($0.subscriptions, $0.subscriberWrappers) }
            for sub in subs {
                var handler = sub.handler
                for w in wrappers.reversed() {
                    let inner = handler
                    handler = { event in try await w.handle(event, next: inner) }
                }
                active.append(try await broker.subscribe(sub.topic, queue: sub.queue, handler: handler))
            }
            try await registry.register(record, ttl: timing.ttl)
        } catch {
            for s in active { try? await s.unsubscribe() }
            await listener?.shutdown(gracePeriod: .zero)
            await client.shutdown()
            for engine in ownedEngines.reversed() { await engine.shutdown() }
            throw error
        }
        guard let listener else { return }
        logger.info("service started", metadata: ["address": "\(listener.address)", "node": "\(nodeID)"])

        // Started first, stopped last: the group shuts its services down in reverse order.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = ownedEngines.map { .init(service: $0) }
        services.append(.init(service: client))
        if let refresher { services.append(.init(service: refresher)) }
        services.append(.init(service: ListenerService(listener: listener, drainTimeout: options.drainTimeout)))
        services.append(.init(service: SubscriptionsService(subscriptions: active)))
        services.append(.init(service: RegistrationService(registry: registry, record: { self.record },
                                                           timing: timing, router: router, stopRequested: stopSignal, logger: logger),
                              successTerminationBehavior: .gracefullyShutdownGroup))
        var groupLogger = logger
        groupLogger.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: groupLogger))
        try await group.run()
        logger.info("service stopped")
    }

    /// Runs the service in a `ServiceGroup` that shuts it down gracefully on SIGTERM or SIGINT —
    /// the one call an executable's `main` needs, inside ``runMain(isolation:_:)`` so errors are one line.
    public func runService() async throws {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: self)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
