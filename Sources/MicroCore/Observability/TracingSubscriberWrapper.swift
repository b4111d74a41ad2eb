import Instrumentation
import Tracing

/// Continues the publisher's trace for every delivery: extracts its context from the message's headers
/// and runs the subscriber inside a consumer span.
///
/// The span is named `process <topic>` with the attributes `messaging.system` (`micro`),
/// `messaging.destination.name` and `messaging.operation.name` (`process`); a failure marks it as an error.
public struct TracingSubscriberWrapper: SubscriberWrapper {
    private let tracer: (any Tracer)?

    /// A wrapper starting spans with `tracer`, or with `InstrumentationSystem.tracer` at the time of each delivery when nil.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    public func handle(_ event: BrokerEvent, next: @Sendable (BrokerEvent) async throws -> Void) async throws {
        let parent = TracePropagation.extract(event.message.header, using: HeaderExtractor(), tracer: tracer)
        let span = TracePropagation.tracer(tracer).startSpan("process \(event.topic)", context: parent, ofKind: .consumer)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["messaging.system"] = "micro"
            attributes["messaging.destination.name"] = event.topic
            attributes["messaging.operation.name"] = "process"
        }
        do {
            try await ServiceContext.withValue(span.context) { try await next(event) }
        } catch {
            TracePropagation.fail(span, error, code: MicroError.from(error, id: "go.micro.broker").code)
            throw error
        }
    }
}
