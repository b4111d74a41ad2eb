import Foundation
import Logging
import NIOCore

/// Calls services and publishes messages (go-micro's `client.Client`): finds a node through the
/// selector, sends through the transport its node speaks, retries elsewhere on transient failures,
/// and carries the deadline and metadata of the calling task.
///
/// A client is an ``Engine``: run it in a `ServiceGroup`, or use it inside ``withClient(engines:environment:defaults:callWrappers:publishWrappers:_:)``
/// (or a `MicroService`, which runs its own), so its connections close when it is done.
public final class Client: Engine {
    /// The registry lookups go through (cached).
    public let selector: Selector
    /// The broker publishes go to.
    public let broker: any Broker
    /// Defaults for every call.
    public let defaults: CallOptions
    /// The codecs requests and responses are encoded with.
    public let codecs: Codecs
    /// The name sent as `Micro-From-Service`, when the client belongs to a service.
    public let fromService: String?
    private let transports: ClientTransports
    /// Engines this client made and so closes (a client given its parts leaves them to their owner).
    private let owned: [any Engine]
    private let callChain: @Sendable (RPCRequest, CallOptions) async throws -> RPCResponse
    private let streamChain: @Sendable (RPCRequest, CallOptions) async throws -> any ClientStreamChannel
    private let publishChain: @Sendable (String, BrokerMessage) async throws -> Void

    /// A client over a registry, the transports by protocol name (`mucp`, `grpc`) and a broker.
    public convenience init(registry: any Registry, transports: [any ClientTransport], broker: any Broker,
                defaults: CallOptions = CallOptions(), codecs: Codecs = .standard, strategy: SelectionStrategy = .random,
                callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [], fromService: String? = nil) {
        self.init(registry: registry, transports: transports, broker: broker, defaults: defaults, codecs: codecs, strategy: strategy,
                  callWrappers: callWrappers, publishWrappers: publishWrappers, fromService: fromService, owning: [])
    }

    /// A client that also closes `owning` (engines it was built with and nobody else holds) on shutdown.
    package init(registry: any Registry, transports: [any ClientTransport], broker: any Broker,
                 defaults: CallOptions = CallOptions(), codecs: Codecs = .standard, strategy: SelectionStrategy = .random,
                 callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [], fromService: String? = nil,
                 owning: [any Engine]) {
        self.owned = owning
        let selector = Selector(registry: registry, strategy: strategy)
        self.selector = selector
        self.broker = broker
        self.defaults = defaults
        self.codecs = codecs
        self.fromService = fromService
        let transportsCopy = ClientTransports(transports)
        self.transports = transportsCopy

        // The innermost step: select, send, retry. Wrappers see the call once, before retries.
        let send: @Sendable (RPCRequest, CallOptions) async throws -> RPCResponse = { request, options in
            try await Client.sendWithRetries(request, options: options, selector: selector, transports: transportsCopy)
        }
        var chain = send
        for w in callWrappers.reversed() {
            let inner = chain
            chain = { req, opts in try await w.call(req) { r in try await inner(r, opts) } }
        }
        self.callChain = chain
        let open: @Sendable (RPCRequest, CallOptions) async throws -> any ClientStreamChannel = { request, options in
            try await Client.openWithRetries(request, options: options, selector: selector, transports: transportsCopy)
        }
        var streams = open
        for w in callWrappers.reversed() {
            let inner = streams
            streams = { req, opts in try await w.openStream(req) { r in try await inner(r, opts) } }
        }
        self.streamChain = streams
        var pub: @Sendable (String, BrokerMessage) async throws -> Void = { topic, message in try await broker.publish(topic, message) }
        for w in publishWrappers.reversed() {
            let inner = pub
            pub = { topic, message in try await w.publish(topic, message, next: inner) }
        }
        self.publishChain = pub
    }

    // MARK: Unary

    /// Calls `endpoint` of `service` with a typed request and decodes the typed response.
    public func call<Request: Sendable, Response: Sendable>(
        _ service: String, _ endpoint: String, _ request: Request,
        as type: Response.Type = Response.self, options: CallOptions? = nil
    ) async throws -> Response {
        let options = options ?? defaults
        let codec = try codecs.codec(for: options.contentType)
        let body = try codec.encode(request)
        let response = try await callRaw(service, endpoint, body: body, options: options)
        let responseCodec = try codecs.codec(for: response.contentType.isEmpty ? options.contentType : response.contentType)
        do {
            return try responseCodec.decode(Response.self, from: response.body)
        } catch {
            throw MicroError.internalServerError("go.micro.client", "cannot decode response of \(service) \(endpoint): \(error)")
        }
    }

    /// Calls with an already encoded body (in `options.contentType`) and returns the raw response.
    public func callRaw(_ service: String, _ endpoint: String, body: ByteBuffer, options: CallOptions? = nil) async throws -> RPCResponse {
        let options = options ?? defaults
        let request = makeRequest(service, endpoint, body: body, options: options, isStream: false)
        return try await callChain(request, options)
    }

    func makeRequest(_ service: String, _ endpoint: String, body: ByteBuffer, options: CallOptions, isStream: Bool) -> RPCRequest {
        let ctx = CallContext.current
        var metadata = ctx.metadata.merging(options.metadata)
        if let fromService { metadata["Micro-From-Service"] = fromService }
        let limit = isStream ? options.streamTimeout : options.timeout
        var deadline: NIODeadline? = limit.map { NIODeadline.now() + TimeAmount($0) }
        if let inherited = ctx.deadline, deadline.map({ inherited < $0 }) ?? true { deadline = inherited }
        return RPCRequest(service: service, endpoint: endpoint, contentType: options.contentType, metadata: metadata,
                          deadline: deadline, id: RequestID.next(), isStream: isStream, body: body)
    }

    static func sendWithRetries(_ request: RPCRequest, options: CallOptions, selector: Selector,
                                transports: ClientTransports) async throws -> RPCResponse {
        var tried: Set<String> = []
        var lastError: (any Error)?
        for attempt in 0...max(0, options.retries) {
            if let deadline = request.deadline, deadline <= .now() {
                throw lastError.map { MicroError.timeout("go.micro.client", "deadline exceeded after \(attempt) attempt(s): \($0)") }
                    ?? MicroError.timeout("go.micro.client", "deadline exceeded before the call was sent")
            }
            if attempt > 0 {
                let wait = options.backoff(attempt - 1)
                if wait > .zero { try await Task.sleep(for: wait) }
            }
            let (node, transport) = try await Client.pick(request.service, options: options, selector: selector,
                                                          transports: transports, exclude: tried)
            do {
                let response = try await transport.call(request, to: node.address)
                selector.failures.markSucceeded(node.id)
                return response
            } catch {
                lastError = error
                if let t = error as? TransportError, t.code == .connectFailed || t.code == .connectionClosed {
                    selector.failures.markFailed(node.id)
                }
                guard options.shouldRetry(error), attempt < options.retries else { throw Client.surface(error) }
                tried.insert(node.id)
            }
        }
        throw Client.surface(lastError ?? MicroError.internalServerError("go.micro.client", "no attempt made"))
    }

    static func pick(_ service: String, options: CallOptions, selector: Selector, transports: ClientTransports,
                     exclude: Set<String>) async throws -> (Node, any ClientTransport) {
        if let address = options.address {
            guard let t = transports.forAddress else { throw MicroError.internalServerError("go.micro.client", "no transport") }
            return (Node(id: address, address: address), t)
        }
        let protocols = transports.protocols
        var node: Node
        do {
            node = try await selector.select(service, speaking: protocols, filters: options.filters, exclude: exclude)
        } catch let e as MicroError where e.code == 503 && !exclude.isEmpty {
            // Every node was tried once: go round again rather than fail while retries remain.
            node = try await selector.select(service, speaking: protocols, filters: options.filters)
        }
        let proto = node.metadata["protocol"] ?? "mucp"
        guard let transport = transports[proto] else {
            throw MicroError.internalServerError("go.micro.client", "no transport for protocol \(proto)")
        }
        return (node, transport)
    }

    /// Errors leave the client as MicroErrors.
    static func surface(_ error: any Error) -> any Error {
        if error is MicroError || error is CancellationError { return error }
        return MicroError.from(error, id: "go.micro.client")
    }

    // MARK: Streams

    /// Opens a stream to `endpoint` (client, server or bidirectional streaming) with typed messages.
    public func openStream<Request: Sendable, Response: Sendable>(
        _ service: String, _ endpoint: String,
        sending: Request.Type = Request.self, receiving: Response.Type = Response.self, options: CallOptions? = nil
    ) async throws -> ClientStream<Request, Response> {
        let options = options ?? defaults
        let codec = try codecs.codec(for: options.contentType)
        let request = makeRequest(service, endpoint, body: ByteBuffer(), options: options, isStream: true)
        return ClientStream(channel: try await streamChain(request, options), codec: codec)
    }

    static func openWithRetries(_ request: RPCRequest, options: CallOptions, selector: Selector,
                                transports: ClientTransports) async throws -> any ClientStreamChannel {
        var tried: Set<String> = []
        for attempt in 0...max(0, options.retries) {
            let (node, transport) = try await Client.pick(request.service, options: options, selector: selector, transports: transports, exclude: tried)
            do {
                return try await transport.openStream(request, to: node.address)
            } catch {
                if let t = error as? TransportError, t.code == .connectFailed { selector.failures.markFailed(node.id) }
                guard options.shouldRetry(error), attempt < options.retries else { throw Client.surface(error) }
                tried.insert(node.id)
            }
        }
        throw MicroError.unavailable("go.micro.client", "could not open a stream to \(request.service)")
    }

    /// Calls a server-streaming endpoint: sends `request`, then yields each response until the handler ends.
    public func stream<Request: Sendable, Response: Sendable>(
        _ service: String, _ endpoint: String, _ request: Request, of type: Response.Type = Response.self, options: CallOptions? = nil
    ) -> ResponseStream<Response> {
        ResponseStream {
            let stream = try await self.openStream(service, endpoint, sending: Request.self, receiving: Response.self, options: options)
            try await stream.send(request)
            try await stream.finishSending()
            return stream
        }
    }

    // MARK: Publish

    /// Publishes a typed message to a topic with go-micro's headers (`Content-Type`, `Micro-Topic`, `Micro-Id`) and the task's metadata.
    public func publish<Message: Sendable>(_ topic: String, _ message: Message, contentType: String? = nil, metadata: Metadata = Metadata()) async throws {
        let type = contentType ?? defaults.contentType
        let codec = try codecs.codec(for: type)
        let body = try codec.encode(message)
        var header: [String: String] = [:]
        for (k, v) in CallContext.current.metadata.merging(metadata) { header[k] = v }
        if let fromService { header["Micro-From-Service"] = fromService }
        header["Content-Type"] = codec.contentType
        header["Micro-Topic"] = topic
        header["Micro-Id"] = UUID().uuidString
        try await publishChain(topic, BrokerMessage(header: header, body: Array(body.readableBytesView)))
    }

    /// Closes the transports' pooled connections and the registry watch, and the engines the client made.
    public func shutdown() async {
        await selector.cache.shutdown()
        for t in transports.all { await t.shutdown() }
        for engine in owned.reversed() { await engine.shutdown() }
    }
}
