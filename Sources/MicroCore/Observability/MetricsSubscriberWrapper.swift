import Metrics

/// Counts every message delivered to a subscriber (`micro_broker_messages_received_total`).
///
/// The counter has the dimensions `topic` and `status` (`success` or the MicroError code the handler's error becomes).
public struct MetricsSubscriberWrapper: SubscriberWrapper {
    private let handles: MetricHandles

    /// A wrapper reporting to `factory`, or to `MetricsSystem.factory` at the time of each delivery when nil.
    public init(factory: (any MetricsFactory)? = nil) {
        self.handles = MetricHandles(factory: factory)
    }

    public func handle(_ event: BrokerEvent, next: @Sendable (BrokerEvent) async throws -> Void) async throws {
        let status: String
        defer {
            handles.counter(MetricLabels.messagesReceived, [("topic", event.topic), ("status", status)]).increment()
        }
        do {
            try await next(event)
            status = MetricLabels.success
        } catch {
            status = MetricLabels.status(of: error, id: "go.micro.broker")
            throw error
        }
    }
}
