import Metrics

/// Counts every message a client publishes (`micro_broker_messages_published_total`).
///
/// The counter has the dimensions `topic` and `status` (`success` or the MicroError code of the failure).
public struct MetricsPublishWrapper: PublishWrapper {
    private let handles: MetricHandles

    /// A wrapper reporting to `factory`, or to `MetricsSystem.factory` at the time of each publish when nil.
    public init(factory: (any MetricsFactory)? = nil) {
        self.handles = MetricHandles(factory: factory)
    }

    public func publish(_ topic: String, _ message: BrokerMessage, next: @Sendable (String, BrokerMessage) async throws -> Void) async throws {
        let status: String
        defer {
            handles.counter(MetricLabels.messagesPublished, [("topic", topic), ("status", status)]).increment()
        }
        do {
            try await next(topic, message)
            status = MetricLabels.success
        } catch {
            status = MetricLabels.status(of: error, id: "go.micro.client")
            throw error
        }
    }
}
