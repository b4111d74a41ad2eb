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

    /// The attribute holding a failed call's MicroError code.
    static let statusCodeAttribute = "rpc.micro.status_code"

    /// Marks the span failed: records the error, its MicroError code and an error status.
    static func fail(_ span: any Span, _ error: any Error, code: Int32) {
        span.attributes[statusCodeAttribute] = Int64(code)
        span.recordError(error)
        span.setStatus(errorStatus(error))
    }

    /// The status of a span that failed with `error`.
    static func errorStatus(_ error: any Error) -> SpanStatus {
        SpanStatus(code: .error, message: String(describing: error))
    }

    /// How a failed call shows on the server's span: its MicroError code always, an error status only
    /// for a 5xx (a 4xx is the caller's fault).
    struct ServerFailure {
        let code: Int64
        let status: SpanStatus?

        init(_ error: any Error, service: String) {
            let code = MicroError.from(error, id: service).code
            self.code = Int64(code)
            self.status = code >= 500 ? TracePropagation.errorStatus(error) : nil
        }
    }
}
