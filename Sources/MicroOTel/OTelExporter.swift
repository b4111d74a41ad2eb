import Logging
import Metrics
import OTel
import ServiceLifecycle
import Tracing

/// A service's spans and metrics sent to an OpenTelemetry collector over OTLP/gRPC (swift-otel),
/// without bootstrapping anything process-wide: hand ``tracer`` and ``metricsFactory`` to
/// `ServiceOptions` and run ``service`` beside the service (it batches and exports until shut down).
///
/// ```swift
/// let otel = try OTelExporter(serviceName: "greeter", endpoint: "http://127.0.0.1:4317")
/// let service = try MicroService(name: "greeter", options: ServiceOptions(metricsFactory: otel.metricsFactory, tracer: otel.tracer))
/// let group = ServiceGroup(services: [otel.service, service], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
public struct OTelExporter: Sendable {
    /// swift-otel's tracer: W3C `traceparent` propagation, spans batched to the collector.
    public let tracer: any Tracer
    /// swift-otel's metrics factory: counters, gauges and histograms exported every `metricsInterval`.
    public let metricsFactory: any MetricsFactory
    /// Runs the exporters; on graceful shutdown it flushes what is pending.
    public let service: any Service

    /// Exporters to the OTLP/gRPC `endpoint` (`http://host:port`, plaintext; `https://` for TLS), naming
    /// the resource `serviceName`; spans are sent at least every `spanDelay`, metrics every `metricsInterval`.
    public init(serviceName: String, endpoint: String, spanDelay: Duration = .seconds(5), metricsInterval: Duration = .seconds(60),
                logger: Logger = Logger(label: "micro.otel")) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.traces.sampler = .alwaysOn
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.otlpExporter.protocol = .grpc
        configuration.traces.batchSpanProcessor.scheduleDelay = spanDelay
        configuration.metrics.exporter = .otlp
        configuration.metrics.otlpExporter.endpoint = endpoint
        configuration.metrics.otlpExporter.protocol = .grpc
        configuration.metrics.exportInterval = metricsInterval
        let tracing = try OTel.makeTracingBackend(configuration: configuration)
        let metrics = try OTel.makeMetricsBackend(configuration: configuration)
        tracer = tracing.factory
        metricsFactory = metrics.factory
        service = Exporters(parts: [tracing.service, metrics.service])
    }

    /// The tracing and metrics exporters run as one lifecycle `Service`.
    private struct Exporters: Service {
        let parts: [any Service]

        func run() async throws {
            try await withThrowingDiscardingTaskGroup { group in
                for part in parts { group.addTask { try await part.run() } }
            }
        }
    }
}
