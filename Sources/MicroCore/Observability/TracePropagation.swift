import Instrumentation
import Tracing

/// What the tracing wrappers share: which tracer and instrument to use, and how a span records a failure.
enum TracePropagation {
    /// The given tracer, or the one `InstrumentationSystem` has at the time of the call.
    static func tracer(_ tracer: (any Tracer)?) -> any Tracer {
        tracer ?? InstrumentationSystem.tracer
    }

    /// Injects `context` with the given tracer, or with the whole bootstrapped instrument (tracer and any other propagators).
    static func inject<Inject: Injector>(_ context: ServiceContext, into carrier: inout Inject.Carrier, using injector: Inject,
                                         tracer: (any Tracer)?) {
        if let tracer {
            tracer.inject(context, into: &carrier, using: injector)
        } else {
            InstrumentationSystem.instrument.inject(context, into: &carrier, using: injector)
        }
    }

    /// A context holding what the carrier propagates, starting from an empty one: a server's parent comes from the wire.
    static func extract<Extract: Extractor>(_ carrier: Extract.Carrier, using extractor: Extract, tracer: (any Tracer)?) -> ServiceContext {
        var context = ServiceContext.topLevel
        if let tracer {
            tracer.extract(carrier, into: &context, using: extractor)
        } else {
            InstrumentationSystem.instrument.extract(carrier, into: &context, using: extractor)
        }
        return context
    }

    /// Marks the span failed: records the error, its MicroError code and an error status.
    static func fail(_ span: any Span, _ error: any Error, code: Int32) {
        span.attributes["rpc.micro.status_code"] = Int64(code)
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error, message: String(describing: error)))
    }
}
