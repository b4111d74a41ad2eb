import Metrics

/// Counts and times every call a server handles (`micro_server_requests_total`, `micro_server_request_duration_seconds`).
///
/// The counter has the dimensions `service`, `endpoint` and `status` (`success` or the MicroError code);
/// the timer has `service` and `endpoint` and records nanoseconds.
public struct MetricsHandlerWrapper: HandlerWrapper {
    private let handles: MetricHandles

    /// A wrapper reporting to `factory`, or to `MetricsSystem.factory` at the time of each call when nil.
    public init(factory: (any MetricsFactory)? = nil) {
        self.handles = MetricHandles(factory: factory)
    }

    public func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let start = ContinuousClock.now
        let status: String
        defer {
            let elapsed = start.duration(to: .now)
            let target = [("service", context.service), ("endpoint", request.endpoint)]
            handles.counter(MetricLabels.serverRequests, target + [("status", status)]).increment()
            handles.timer(MetricLabels.serverDuration, target).record(duration: elapsed)
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
