import Metrics

/// Counts and times every call a server handles (`micro_server_requests_total`, `micro_server_request_duration_seconds`).
///
/// The counter has the dimensions `service`, `endpoint` and `status` (`success` or the MicroError code);
/// the timer has `service` and `endpoint` and records nanoseconds.
public struct MetricsHandlerWrapper: HandlerWrapper, EndpointPreparingWrapper {
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
        defer { record(start.duration(to: .now), service: context.service, endpoint: request.endpoint, status: status) }
        do {
            let response = try await next(request, context)
            status = MetricLabels.success
            return response
        } catch {
            status = MetricLabels.status(of: error, id: context.service)
            throw error
        }
    }

    /// Counts a call with its status and records its duration.
    private func record(_ elapsed: Duration, service: String, endpoint: String, status: String) {
        let target = [("service", service), ("endpoint", endpoint)]
        handles.counter(MetricLabels.serverRequests, target + [("status", status)]).increment()
        handles.timer(MetricLabels.serverDuration, target).record(duration: elapsed)
    }

    /// With a factory of its own, the endpoint's success counter and timer made once; without one
    /// (`MetricsSystem.factory` at each call) itself.
    package func prepared(service: String, endpoint: String) -> any HandlerWrapper {
        guard handles.keepsHandles else { return self }
        let target = [("service", service), ("endpoint", endpoint)]
        return Prepared(general: self, service: service, endpoint: endpoint,
                        succeeded: handles.counter(MetricLabels.serverRequests, target + [("status", MetricLabels.success)]),
                        timer: handles.timer(MetricLabels.serverDuration, target))
    }

    /// The wrapper for one endpoint: a successful call records into handles it holds, with no lookup;
    /// a failed one (its status known only then) and any call to another endpoint go the general way.
    private struct Prepared: HandlerWrapper {
        let general: MetricsHandlerWrapper
        let service: String
        let endpoint: String
        let succeeded: Counter
        let timer: Timer

        func handle(
            _ request: RPCRequest,
            context: HandlerContext,
            next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            guard request.endpoint == endpoint, context.service == service else {
                return try await general.handle(request, context: context, next: next)
            }
            let start = ContinuousClock.now
            let response: RPCResponse
            do {
                response = try await next(request, context)
            } catch {
                general.record(start.duration(to: .now), service: service, endpoint: endpoint, status: MetricLabels.status(of: error, id: service))
                throw error
            }
            let elapsed = start.duration(to: .now)
            succeeded.increment()
            timer.record(duration: elapsed)
            return response
        }
    }
}
