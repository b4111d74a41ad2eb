import Instrumentation
import Tracing

/// Starts a producer span for every publish and sends its context in the message's headers, so subscribers continue the trace.
///
/// The span is named `publish <topic>` with the attributes `messaging.system` (`micro`),
/// `messaging.destination.name` and `messaging.operation.name` (`publish`).
public struct TracingPublishWrapper: PublishWrapper {
    private let tracer: (any Tracer)?

    /// A wrapper starting spans with `tracer`, or with `InstrumentationSystem.tracer` at the time of each publish when nil.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    public func publish(_ topic: String, _ message: BrokerMessage, next: @Sendable (String, BrokerMessage) async throws -> Void) async throws {
        let span = TracePropagation.tracer(tracer).startSpan("publish \(topic)", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["messaging.system"] = "micro"
            attributes["messaging.destination.name"] = topic
            attributes["messaging.operation.name"] = "publish"
        }
        var message = message
        TracePropagation.inject(span.context, into: &message.header, using: HeaderInjector(), tracer: tracer)
        do {
            try await ServiceContext.withValue(span.context) { try await next(topic, message) }
        } catch {
            TracePropagation.fail(span, error, code: MicroError.from(error, id: "go.micro.client").code)
            throw error
        }
    }
}
