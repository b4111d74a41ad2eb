/// Publish/subscribe between services (go-micro's `broker.Broker`).
///
/// A subscriber with a queue name shares the topic's messages with the other members of that
/// queue (each message to one of them); without one it gets every message (broadcast). A broker is an
/// ``Engine``: ``Engine/shutdown()`` closes its subscriptions and connections.
public protocol Broker: Engine {
    /// The broker's name as `MICRO_BROKER` spells it (`memory`, `http`, `nats`).
    var name: String { get }
    /// Publishes one message to a topic.
    func publish(_ topic: String, _ message: BrokerMessage) async throws
    /// Subscribes to a topic; `handler` runs for each message and the message is acknowledged when it returns.
    func subscribe(_ topic: String, queue: String?, handler: @escaping @Sendable (BrokerEvent) async throws -> Void) async throws -> any BrokerSubscription
}

/// One delivered message.
public struct BrokerEvent: Sendable {
    /// The topic it was published to.
    public var topic: String
    /// The message.
    public var message: BrokerMessage

    /// Creates an event.
    public init(topic: String, message: BrokerMessage) {
        self.topic = topic
        self.message = message
    }
}

/// A live subscription.
public protocol BrokerSubscription: Sendable {
    /// The topic.
    var topic: String { get }
    /// The queue group, nil for broadcast.
    var queue: String? { get }
    /// Stops delivery.
    func unsubscribe() async throws
}
