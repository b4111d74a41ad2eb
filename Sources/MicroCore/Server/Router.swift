import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The server's dispatcher: finds the handler for an endpoint, decodes with the content type's codec,
/// runs the handler wrappers, and turns every failure into a ``MicroError``.
public final class Router: RPCHandler {
    /// The service name, used as the `id` of errors this router raises.
    public let serviceName: String
    private let codecs: Codecs
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    typealias Chain = @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse

    private struct State {
        var handlers: [String: EndpointHandler] = [:]
        var wrappers: [any HandlerWrapper] = []
        /// Unary endpoints with their wrappers composed, built on first call and dropped on any change.
        var compiled: [String: Chain] = [:]
        var health: @Sendable () async -> HealthStatus = { .serving }
        var extensions = Extensions()
    }

    /// A router for `serviceName`. It answers `Debug.Health` itself.
    public init(serviceName: String, codecs: Codecs = .standard, logger: Logger = Logger(label: "micro.server")) {
        self.serviceName = serviceName
        self.codecs = codecs
        self.logger = logger
        let healthHandler = EndpointHandler(
            endpoint: Endpoint(name: "Debug.Health", request: Value(name: "HealthRequest", type: "HealthRequest"),
                               response: Value(name: "HealthResponse", type: "HealthResponse", values: [Value(name: "status", type: "string")])),
            kind: .unary,
            body: .unary { [state] _, _, codec in
                let status = await state.withLockedValue { $0.health }()
                return try codec.encode(HealthResponse(status: status.rawValue))
            })
        state.withLockedValue { $0.handlers["Debug.Health"] = healthHandler }
    }

    /// Adds (or replaces) an endpoint's handler.
    public func register(_ handler: EndpointHandler) {
        state.withLockedValue {
            $0.handlers[handler.endpoint.name] = handler
            $0.compiled = [:]
        }
    }

    /// Adds a wrapper; the first added is the outermost.
    public func use(_ wrapper: any HandlerWrapper) {
        state.withLockedValue {
            $0.wrappers.append(wrapper)
            $0.compiled = [:]
        }
    }

    /// Sets what `Debug.Health` and `/health` report.
    public func setHealthCheck(_ check: @escaping @Sendable () async -> HealthStatus) {
        state.withLockedValue { $0.health = check }
    }

    /// The current health.
    public func health() async -> HealthStatus {
        await state.withLockedValue { $0.health }()
    }

    /// Transport-specific facts carried for the transports that read them (e.g. gRPC descriptor sets).
    public var extensions: Extensions {
        state.withLockedValue { $0.extensions }
    }

    /// Changes the extensions (an engine module's own setters go through here).
    public func updateExtensions(_ body: (inout Extensions) -> Void) {
        state.withLockedValue { body(&$0.extensions) }
    }

    /// The endpoints registered, sorted by name (for the registry record).
    public var endpoints: [Endpoint] {
        state.withLockedValue { $0.handlers.values.map(\.endpoint) }.sorted { $0.name < $1.name }
    }

    /// The endpoints with their kinds, and the extensions, for server transports.
    public var serverDescription: ServerDescription {
        let (handlers, extensions) = state.withLockedValue { (Array($0.handlers.values), $0.extensions) }
        let endpoints = handlers.map { ServerDescription.Endpoint(name: $0.endpoint.name, kind: $0.kind, metadata: $0.endpoint.metadata) }
        return ServerDescription(service: serviceName, endpoints: endpoints.sorted { $0.name < $1.name }, extensions: extensions)
    }

    public func handle(_ request: RPCRequest) async -> Result<RPCResponse, MicroError> {
        enum Lookup { case chain(Chain), missing, stream }
        let lookup: Lookup = state.withLockedValue { s in
            if let c = s.compiled[request.endpoint] { return .chain(c) }
            guard let handler = s.handlers[request.endpoint] else { return .missing }
            guard case .unary(let body) = handler.body else { return .stream }
            let wrappers = s.wrappers.map { wrapper in
                (wrapper as? any EndpointPreparingWrapper)?.prepared(service: serviceName, endpoint: request.endpoint) ?? wrapper
            }
            let c = Self.chain(wrappers, Self.unaryTerminal(body, codecs: codecs, blocking: handler.blocking))
            s.compiled[request.endpoint] = c
            return .chain(c)
        }
        switch lookup {
        case .missing:
            return .failure(.notFound(serviceName, "unknown endpoint \(request.endpoint)"))
        case .stream:
            return .failure(.badRequest(serviceName, "endpoint \(request.endpoint) is a stream; call it as one"))
        case .chain(let chain):
            do {
                return .success(try await chain(request, makeContext(request)))
            } catch {
                return .failure(convert(error, request))
            }
        }
    }

    /// The innermost step of a unary call: pick the codec, run the handler with the call's context.
    private static func unaryTerminal(_ body: @escaping EndpointHandler.Unary, codecs: Codecs, blocking: Bool) -> Chain {
        { req, ctx in
            let codec = try codecs.codec(for: req.contentType)
            let out = try await offloading(blocking) {
                try await CallContext.$current.withValue(CallContext(metadata: ctx.metadata, deadline: ctx.deadline)) {
                    try await body(req, ctx, codec)
                }
            }
            return RPCResponse(contentType: codec.contentType, body: out)
        }
    }

    /// Runs `work` on Swift's global executor when `blocking` (off the event loop the call came in
    /// on), else where it is.
    package static func offloading<T: Sendable>(_ blocking: Bool, _ work: @Sendable () async throws -> T) async throws -> T {
        guard blocking else { return try await work() }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await work() }
    }

    public func handleStream(_ request: RPCRequest, inbound: MessageReader, outbound: MessageWriter) async -> MicroError? {
        let (handler, wrappers) = state.withLockedValue { ($0.handlers[request.endpoint], $0.wrappers) }
        guard let handler else { return .notFound(serviceName, "unknown endpoint \(request.endpoint)") }
        let codec: any Codec
        do { codec = try codecs.codec(for: request.contentType) } catch { return MicroError.from(error, id: serviceName) }
        let body: EndpointHandler.Streaming
        switch handler.body {
        case .stream(let b): body = b
        case .unary(let unary):
            // A unary endpoint called as a stream: the first message is the request, the answer the only reply.
            body = { req, ctx, codec, inbound, outbound in
                guard let first = try await inbound.next() else { throw MicroError.badRequest(ctx.service, "stream ended before the request") }
                var r = req
                r.body = first
                try await outbound.write(try await unary(r, ctx, codec))
            }
        }
        let context = makeContext(request)
        let blocking = handler.blocking
        // Whether the stream itself failed under the handler (the caller left or broke it): then the
        // handler's failure is no fault of its own.
        let streamFailed = NIOLockedValueBox(false)
        let inbound = MessageReader {
            do { return try await inbound.next() } catch { streamFailed.withLockedValue { $0 = true }; throw error }
        }
        let outbound = MessageWriter { message in
            do { try await outbound.write(message) } catch { streamFailed.withLockedValue { $0 = true }; throw error }
        }
        let terminal: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse = { req, ctx in
            try await Self.offloading(blocking) {
                try await CallContext.$current.withValue(CallContext(metadata: ctx.metadata, deadline: ctx.deadline)) {
                    try await body(req, ctx, codec, inbound, outbound)
                }
            }
            return RPCResponse(contentType: codec.contentType, body: ByteBuffer())
        }
        do {
            _ = try await Self.chain(wrappers, terminal)(request, context)
            return nil
        } catch {
            guard streamFailed.withLockedValue({ $0 }) else { return convert(error, request) }
            // A caller leaving a stream is normal: no error to report.
            let e = MicroError.from(error, id: serviceName)
            logger.debug("stream ended: the caller left", metadata: ["endpoint": "\(request.endpoint)", "error": "\(e)"])
            return e
        }
    }

    /// Runs the wrappers that are ``CallGate``s, in order, for a call the transport answers itself.
    public func admit(_ request: RPCRequest) async -> MicroError? {
        let gates = state.withLockedValue { $0.wrappers.compactMap { $0 as? any CallGate } }
        guard !gates.isEmpty else { return nil }
        let context = makeContext(request)
        do {
            for gate in gates { try await gate.admit(request, context: context) }
            return nil
        } catch {
            return convert(error, request)
        }
    }

    private func makeContext(_ request: RPCRequest) -> HandlerContext {
        HandlerContext(service: serviceName, endpoint: request.endpoint, metadata: request.metadata,
                       deadline: request.deadline, logger: logger, requestID: request.id)
    }

    private func convert(_ error: any Error, _ request: RPCRequest) -> MicroError {
        let e = MicroError.from(error, id: serviceName)
        if e.code >= 500 {
            logger.error("handler failed", metadata: ["endpoint": "\(request.endpoint)", "error": "\(e)"])
        }
        return e
    }

    static func chain(_ wrappers: [any HandlerWrapper], _ terminal: @escaping Chain) -> Chain {
        var next = terminal
        for w in wrappers.reversed() {
            let inner = next
            next = { req, ctx in try await w.handle(req, context: ctx, next: inner) }
        }
        return next
    }
}

/// What `Debug.Health` and `/health` report.
public enum HealthStatus: String, Sendable, Codable {
    /// Accepting calls.
    case serving = "ok"
    /// Up but not accepting calls (starting or draining).
    case notServing = "not_serving"
}

/// The `Debug.Health` answer, `{"status": "ok"}` as go-micro's debug handler gives it.
public struct HealthResponse: Codable, Sendable, Equatable {
    /// `ok` when serving.
    public var status: String
    /// Creates a response.
    public init(status: String) { self.status = status }
}
