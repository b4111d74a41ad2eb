import Instrumentation
import Tracing

/// Continues the caller's trace on the server: extracts its context from the request's metadata,
/// starts a server span and runs the handler inside it, so the handler's onward calls join the trace.
///
/// The span is named after the endpoint, has kind `.server` and the attributes `rpc.system` (`micro`),
/// `rpc.service` and `rpc.method`. A failure that reaches the caller as a 5xx MicroError marks it as an
/// error; a 4xx is the caller's fault and only sets `rpc.micro.status_code`.
public struct TracingHandlerWrapper: HandlerWrapper, EndpointPreparingWrapper {
    private let tracer: (any Tracer)?

    /// A wrapper starting spans with `tracer`, or with `InstrumentationSystem.tracer` at the time of each call when nil.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    public func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        try await Self.traced(request, context, tracer: tracer,
                              rpc: Self.attributes(service: context.service, endpoint: request.endpoint), next)
    }

    /// The endpoint's span attributes made once, and with a ``DebugTracer`` its server spans kept
    /// without a span object (see ``DebugTracer/ServerSpans``).
    package func prepared(service: String, endpoint: String) -> any HandlerWrapper {
        let rpc = Self.attributes(service: service, endpoint: endpoint)
        return Prepared(general: self, service: service, endpoint: endpoint, rpc: rpc,
                        own: (tracer as? DebugTracer).map { DebugTracer.ServerSpans($0, endpoint: endpoint, attributes: rpc) })
    }

    /// The wrapper for one endpoint; a call to another endpoint goes the general way.
    private struct Prepared: HandlerWrapper {
        let general: TracingHandlerWrapper
        let service: String
        let endpoint: String
        let rpc: SpanAttributes
        let own: DebugTracer.ServerSpans?

        func handle(
            _ request: RPCRequest,
            context: HandlerContext,
            next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            guard request.endpoint == endpoint, context.service == service else {
                return try await general.handle(request, context: context, next: next)
            }
            // The one check per call of whether another tracer was bootstrapped (or given) meanwhile:
            // with one, the debug tracer passes its spans on to it and keeps them too.
            if let own, let base = own.tracer.base {
                return try await TracingHandlerWrapper.traced(request, context, tracer: own.tracer.over(base), rpc: rpc, next)
            } else if let own {
                return try await own.run(request, context, next)
            }
            return try await TracingHandlerWrapper.traced(request, context, tracer: general.tracer, rpc: rpc, next)
        }
    }

    /// `rpc.system`, `rpc.service` and `rpc.method`, from a Dictionary literal (SpanAttributes' own
    /// literal init merges the pairs one by one).
    private static func attributes(service: String, endpoint: String) -> SpanAttributes {
        SpanAttributes(["rpc.system": .string("micro"), "rpc.service": .string(service), "rpc.method": .string(endpoint)]
                       as [String: SpanAttribute])
    }

    /// Runs `next` in a server span of `tracer` (nil: `InstrumentationSystem`'s now) with the attributes `rpc`.
    private static func traced(
        _ request: RPCRequest, _ context: HandlerContext, tracer: (any Tracer)?, rpc: SpanAttributes,
        _ next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let parent = TracePropagation.extract(request.metadata, using: MetadataExtractor(), tracer: tracer)
        let span = TracePropagation.tracer(tracer).startSpan(request.endpoint, context: parent, ofKind: .server)
        defer { span.end() }
        // One assignment rather than three inserts into a copy.
        var attributes = span.attributes
        if attributes.isEmpty {
            attributes = rpc
        } else {
            rpc.forEach { attributes[$0] = $1 }
        }
        span.attributes = attributes
        do {
            return try await ServiceContext.withValue(span.context) { try await next(request, context) }
        } catch {
            let failure = TracePropagation.ServerFailure(error, service: context.service)
            span.attributes[TracePropagation.statusCodeAttribute] = failure.code
            if let status = failure.status {
                span.recordError(error)
                span.setStatus(status)
            }
            throw error
        }
    }
}
