import Metrics

/// Counts and times every call a server handles (`micro_server_requests_total`, `micro_server_request_duration_seconds`).
///
/// The counter has the dimensions `service`, `endpoint` and `status` (`success` or the MicroError code);
/// the timer has `service` and `endpoint` and records nanoseconds.
public struct MetricsHandlerWrapper: HandlerWrapper {
    private let factory: (any MetricsFactory)?

    /// A wrapper reporting to `factory`, or to `MetricsSystem.factory` at the time of each call when nil.
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory
    }

    public func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let factory = self.factory ?? MetricsSystem.factory
        let start = ContinuousClock.now
        let status: String
        defer {
            let elapsed = start.duration(to: .now)
            let target = [("service", context.service), ("endpoint", request.endpoint)]
            Counter(label: MetricLabels.serverRequests, dimensions: target + [("status", status)], factory: factory).increment()
            Timer(label: MetricLabels.serverDuration, dimensions: target, preferredDisplayUnit: .seconds, factory: factory)
                .record(duration: elapsed)
        }
        do {
            let response = try await next(request, context)
            status = MetricLabels.success
            return response
        } catch {
            status = MetricLabels.status(of: error, id: context.service)
            throw error
        }
    }
}
