import Instrumentation
import Tracing

extension DebugTracer {
    /// One endpoint's server spans when they are the debug tracer's own (``DebugTracer/base`` is nil):
    /// no span object per call. The ids come from the caller's `traceparent` and the handler runs in a
    /// context holding them; when it returns, a ``FinishedSpan`` with the endpoint's name and
    /// attributes (checked against the buffer's limits once, here) is written into the span buffer.
    /// What it records is what a ``DebugSpan`` started by ``TracingHandlerWrapper`` would.
    package struct ServerSpans: Sendable {
        /// The tracer whose spans these are.
        package let tracer: DebugTracer
        private let endpoint: String
        private let attributes: SpanAttributes
        /// Whether its spans are kept: not the `Debug.*` endpoints' own (as ``DebugSpan`` leaves them out).
        private let kept: Bool
        /// Whether a span with the endpoint's name and attributes and no status fits the buffer's limits as it is.
        private let fits: Bool

        /// The spans of `endpoint` with `attributes`.
        package init(_ tracer: DebugTracer, endpoint: String, attributes: SpanAttributes) {
            self.tracer = tracer
            self.endpoint = endpoint
            self.attributes = attributes
            self.kept = !endpoint.utf8.starts(with: "Debug.".utf8)
            self.fits = FinishedSpan(ids: TraceParent(traceHigh: 0, traceLow: 0, span: 0), parent: 0, name: endpoint, kind: .server,
                                     service: tracer.service, start: 0, duration: 0, attributes: attributes, status: nil)
                .fits(tracer.buffer.limits)
        }

        /// Runs `next` in a new server span under the caller's trace (check that ``DebugTracer/base`` is nil
        /// first). Inlined into the wrapper: an async call of its own would add a hop back on its return.
        @inline(__always)
        package func run(
            _ request: RPCRequest, _ context: HandlerContext,
            _ next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            let parent = request.metadata[lowercased: TraceParent.headerName].flatMap(TraceParent.init(header:))
            let (ids, spanContext) = DebugTracer.ownSpan(under: parent, in: .topLevel)
            let start = DefaultTracerClock.now.nanosecondsSinceEpoch
            let response: RPCResponse
            do {
                response = try await ServiceContext.withValue(spanContext) { try await next(request, context) }
            } catch {
                if kept {
                    let failure = TracePropagation.ServerFailure(error, service: context.service)
                    var attributes = attributes
                    attributes[TracePropagation.statusCodeAttribute] = failure.code
                    tracer.buffer.append(span(ids, parent: parent, start: start, attributes: attributes, status: failure.status))
                }
                throw error
            }
            guard kept else { return response }
            let finished = span(ids, parent: parent, start: start, attributes: attributes, status: nil)
            if fits {
                tracer.buffer.append(fitting: finished)
            } else {
                tracer.buffer.append(finished)
            }
            return response
        }

        private func span(_ ids: TraceParent, parent: TraceParent?, start: UInt64, attributes: SpanAttributes, status: SpanStatus?) -> FinishedSpan {
            let end = DefaultTracerClock.now.nanosecondsSinceEpoch
            return FinishedSpan(ids: ids, parent: parent?.span ?? 0, name: endpoint, kind: .server, service: tracer.service,
                                start: Int64(clamping: start), duration: Int64(clamping: end) - Int64(clamping: start),
                                attributes: attributes, status: status)
        }
    }
}
