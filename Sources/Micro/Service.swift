import Foundation
import Logging
import MicroCore
import MicroHTTP
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import UnixSignals

/// A service (go-micro's `micro.Service`): handlers and subscribers, a server, a client, and its
/// registration. It is a swift-service-lifecycle `Service`: on graceful shutdown it deregisters,
/// stops accepting, drains calls in flight (bounded) and returns.
public final class Service: ServiceLifecycle.Service, Sendable {
    /// The registered name.
    public let name: String
    /// The registered version.
    public let version: String
    /// This instance's node id, `<name>-<uuid>`.
    public let nodeID: String
    /// The router handlers are registered on.
    public let router: Router
    /// A client on the same registry, transport and broker.
    public let client: Client
    /// The registry the service registers in.
    public let registry: any Registry
    /// The broker subscribers listen on.
    public let broker: any Broker
    /// The options the service runs with.
    public let options: ServiceOptions
    private let serverTransport: any ServerTransport
    private let transportName: String
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
        var started = false
    }

    private let state = NIOLockedValueBox(State())

    /// A service on the engines `MICRO_*` variables choose, or those given here.
    public init(name: String, version: String = "latest", options: ServiceOptions = ServiceOptions(),
                environment: MicroEnvironment = MicroEnvironment(), registry: (any Registry)? = nil, broker: (any Broker)? = nil,
                transport: (client: any ClientTransport, server: any ServerTransport)? = nil,
                callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [], logger: Logger? = nil) throws {
        guard !name.isEmpty else { throw ConfigurationError("a service needs a name") }
        self.name = name
        self.version = version
        self.nodeID = "\(name)-\(UUID().uuidString.lowercased())"
        var options = options
        if options.address == nil { options.address = environment.serverAddress }
        let ttlExplicit = options.registerTTLIsExplicit, intervalExplicit = options.registerIntervalIsExplicit
        if !ttlExplicit, let ttl = try environment.registerTTLDuration() { options.registerTTL = ttl }
        if !intervalExplicit, let interval = try environment.registerIntervalDuration() {
            options.registerInterval = interval
        } else if !intervalExplicit, options.registerInterval >= options.registerTTL {
            options.registerInterval = options.registerTTL / 3  // heartbeat well within the TTL
        }
        self.options = options
        var logger = logger ?? Logger(label: "micro.service")
        logger[metadataKey: "service"] = "\(name)"
        self.logger = logger
        let registry = try registry ?? environment.makeRegistry()
        self.registry = registry
        let broker = try broker ?? environment.makeBroker(registry: registry)
        self.broker = broker
        let transport = try transport ?? environment.makeTransport(configuration: options.http)
        self.serverTransport = transport.server
        self.transportName = transport.server is MemoryTransport ? "memory"
            : (["nats", "grpc"].contains(transport.server.protocolName) ? transport.server.protocolName : "http")
        self.router = Router(serviceName: name, logger: logger)
        var calls = callWrappers
        var publishes = publishWrappers
        if options.observability {
            router.use(TracingHandlerWrapper())
            router.use(MetricsHandlerWrapper())
            calls = [TracingCallWrapper(), MetricsCallWrapper()] + calls
            publishes = [TracingPublishWrapper(), MetricsPublishWrapper()] + publishes
            state.withLockedValue { $0.subscriberWrappers = [TracingSubscriberWrapper(), MetricsSubscriberWrapper()] }
        }
        self.client = Client(registry: registry, transports: [transport.client], broker: broker, defaults: options.callDefaults,
                             callWrappers: calls, publishWrappers: publishes, fromService: name)
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

    /// Adds a serialized `google.protobuf.FileDescriptorSet` of the protobuf endpoints, for gRPC server reflection.
    public func addDescriptorSet(_ bytes: [UInt8]) {
        router.addDescriptorSet(bytes)
    }

    /// Adds a handler wrapper (middleware); the first added is the outermost.
    public func use(_ wrapper: any HandlerWrapper) {
        router.use(wrapper)
    }

    /// Adds a subscriber wrapper; the first added is the outermost.
    public func use(_ wrapper: any SubscriberWrapper) {
        state.withLockedValue { $0.subscriberWrappers.append(wrapper) }
    }

    /// Subscribes to a topic with a typed handler; with a `queue`, each message goes to one member of the group.
    public func subscribe<Message: Sendable>(_ topic: String, queue: String? = nil,
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
            try await CallContext.$current.withValue(CallContext(metadata: metadata)) {
                try await body(message, SubscriberContext(topic: event.topic, metadata: metadata, logger: log))
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

    /// Serves until graceful shutdown (or ``stop()``): listen, subscribe, register, heartbeat; then
    /// deregister, stop accepting, drain for up to `drainTimeout`, unsubscribe.
    public func run() async throws {
        let (stopSignal, stopContinuation) = AsyncStream<Void>.makeStream()
        let alreadyStopped = state.withLockedValue { s -> Bool in
            s.stop = stopContinuation
            return s.stopRequested
        }
        if alreadyStopped { stopContinuation.finish() }
        let listener = try await serverTransport.listen(on: options.address ?? "127.0.0.1:0", handler: router)
        state.withLockedValue { $0.address = listener.address }
        var active: [any BrokerSubscription] = []
        do {
            let (subs, wrappers) = state.withLockedValue { ($0.subscriptions, $0.subscriberWrappers) }
            for sub in subs {
                var handler = sub.handler
                for w in wrappers.reversed() {
                    let inner = handler
                    handler = { event in try await w.handle(event, next: inner) }
                }
                active.append(try await broker.subscribe(sub.topic, queue: sub.queue, handler: handler))
            }
            try await registry.register(record, ttl: options.registerTTL)
        } catch {
            for s in active { try? await s.unsubscribe() }
            await listener.shutdown(gracePeriod: .zero)
            throw error
        }
        logger.info("service started", metadata: ["address": "\(listener.address)", "node": "\(nodeID)"])

        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                group.addTask { await self.heartbeat() }
                for await _ in stopSignal {}
                // Shutdown: leave the registry first so callers stop choosing this node, then drain.
                self.router.setHealthCheck { .notServing }
                do { try await self.registry.deregister(self.record) } catch {
                    self.logger.warning("deregister failed", metadata: ["error": "\(error)"])
                }
                for s in active { try? await s.unsubscribe() }
                await listener.shutdown(gracePeriod: self.options.drainTimeout)
                group.cancelAll()
                while let result = await group.nextResult() {
                    if case .failure(let error) = result, !(error is CancellationError) { throw error }
                }
            }
        } onCancelOrGracefulShutdown: {
            stopContinuation.finish()
        }
        await client.shutdown()
        await broker.shutdown()
        logger.info("service stopped")
    }

    private func heartbeat() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: options.registerInterval) } catch { return }
            do { try await registry.register(record, ttl: options.registerTTL) } catch {
                logger.warning("re-register failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Runs the service in a `ServiceGroup` that shuts it down gracefully on SIGTERM or SIGINT —
    /// the one call an executable's `main` needs.
    public func runService() async throws {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: self)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
