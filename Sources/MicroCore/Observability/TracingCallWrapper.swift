import Instrumentation
import Tracing

/// Starts a client span for every call and sends its context with the request's metadata, so the server continues the trace.
///
/// The span is named after the endpoint, has kind `.client` and the attributes `rpc.system` (`micro`),
/// `rpc.service` and `rpc.method`; every failure marks it as an error. The header format is the
/// instrument's (W3C `traceparent` with swift-otel), never this wrapper's.
public struct TracingCallWrapper: CallWrapper {
    private let tracer: (any Tracer)?

    /// A wrapper starting spans with `tracer`, or with `InstrumentationSystem.tracer` at the time of each call when nil.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    public func call(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> RPCResponse) async throws -> RPCResponse {
        try await withClientSpan(request, stream: false, next)
    }

    /// Opens a stream inside a client span that covers the opening, and sends the span's context
    /// with the stream's head so the handler continues the trace.
    public func openStream(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> any ClientStreamChannel) async throws -> any ClientStreamChannel {
        try await withClientSpan(request, stream: true, next)
    }

    private func withClientSpan<T>(_ request: RPCRequest, stream: Bool, _ next: @Sendable (RPCRequest) async throws -> T) async throws -> T {
        let span = TracePropagation.tracer(tracer).startSpan(request.endpoint, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["rpc.system"] = "micro"
            attributes["rpc.service"] = request.service
            attributes["rpc.method"] = request.endpoint
            if stream { attributes["rpc.micro.stream"] = true }
        }
        var request = request
        TracePropagation.inject(span.context, into: &request.metadata, using: MetadataInjector(), tracer: tracer)
        do {
            return try await ServiceContext.withValue(span.context) { try await next(request) }
        } catch {
            TracePropagation.fail(span, error, code: MicroError.from(error, id: "go.micro.client").code)
            throw error
        }
    }
}
