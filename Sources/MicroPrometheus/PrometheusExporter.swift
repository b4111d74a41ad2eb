import MicroCore
import MicroHTTP
import NIOCore
import Prometheus

/// A service's swift-metrics in Prometheus's text format at `/metrics` on its own HTTP port: a
/// swift-prometheus registry, the metrics factory that fills it, and the route that serves it.
///
/// ```swift
/// let exporter = PrometheusExporter()
/// let service = try MicroService(name: "greeter", options: ServiceOptions(metricsFactory: exporter.factory))
/// exporter.serve(on: service.router)     // or MetricsSystem.bootstrap(exporter.factory) for the whole process
/// ```
public struct PrometheusExporter: Sendable {
    /// Where the metrics are kept.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory recording into ``registry`` (pass it to `ServiceOptions.metricsFactory`
    /// or bootstrap `MetricsSystem` with it).
    public let factory: PrometheusMetricsFactory

    /// An exporter on `registry` (a new one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    /// The exposition text now.
    public func page() -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4096)
        registry.emit(into: &bytes)
        return ByteBuffer(bytes: bytes)
    }

    /// Serves ``page()`` at `GET path` on the HTTP port of the service whose router this is.
    public func serve(on router: Router, path: String = "/metrics") {
        let exporter = self
        router.serveHTTP(get: path) {
            HTTPGetResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: exporter.page())
        }
    }
}
