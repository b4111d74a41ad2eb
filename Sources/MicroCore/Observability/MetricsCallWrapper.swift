import Metrics

/// Counts and times every call a client makes (`micro_client_requests_total`, `micro_client_request_duration_seconds`).
///
/// The counter has the dimensions `service` (the one called), `endpoint` and `status` (`success` or the
/// MicroError code); the timer has `service` and `endpoint` and records nanoseconds, retries included.
public struct MetricsCallWrapper: CallWrapper {
    private let handles: MetricHandles

    /// A wrapper reporting to `factory`, or to `MetricsSystem.factory` at the time of each call when nil.
    public init(factory: (any MetricsFactory)? = nil) {
        self.handles = MetricHandles(factory: factory)
    }

    public func call(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> RPCResponse) async throws -> RPCResponse {
        let start = ContinuousClock.now
        let status: String
        defer {
            let elapsed = start.duration(to: .now)
            let target = [("service", request.service), ("endpoint", request.endpoint)]
            handles.counter(MetricLabels.clientRequests, target + [("status", status)]).increment()
            handles.timer(MetricLabels.clientDuration, target).record(duration: elapsed)
        }
        do {
            let response = try await next(request)
            status = MetricLabels.success
            return response
        } catch {
            status = MetricLabels.status(of: error, id: "go.micro.client")
            throw error
        }
    }
}
