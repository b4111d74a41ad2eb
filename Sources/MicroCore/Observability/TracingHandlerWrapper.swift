import Instrumentation
import Tracing

/// Continues the caller's trace on the server: extracts its context from the request's metadata,
/// starts a server span and runs the handler inside it, so the handler's onward calls join the trace.
///
/// The span is named after the endpoint, has kind `.server` and the attributes `rpc.system` (`micro`),
/// `rpc.service` and `rpc.method`. A failure that reaches the caller as a 5xx MicroError marks it as an
/// error; a 4xx is the caller's fault and only sets `rpc.micro.status_code`.
public struct TracingHandlerWrapper: HandlerWrapper {
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
        let parent = TracePropagation.extract(request.metadata, using: MetadataExtractor(), tracer: tracer)
        let span = TracePropagation.tracer(tracer).startSpan(request.endpoint, context: parent, ofKind: .server)
        defer { span.end() }
        // One assignment of a literal (its storage sized once) rather than three inserts into a copy.
        var attributes = span.attributes
        // From a Dictionary literal: SpanAttributes' own literal init merges the pairs one by one.
        let rpc = SpanAttributes(["rpc.system": .string("micro"), "rpc.service": .string(context.service), "rpc.method": .string(request.endpoint)]
                                 as [String: SpanAttribute])
        if attributes.isEmpty {
            attributes = rpc
        } else {
            rpc.forEach { attributes[$0] = $1 }
        }
        span.attributes = attributes
        do {
            return try await ServiceContext.withValue(span.context) { try await next(request, context) }
        } catch {
            let code = MicroError.from(error, id: context.service).code
            if code >= 500 {
                TracePropagation.fail(span, error, code: code)
            } else {
                span.attributes["rpc.micro.status_code"] = Int64(code)
            }
            throw error
        }
    }
}
