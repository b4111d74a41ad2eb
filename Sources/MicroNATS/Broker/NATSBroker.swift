import Foundation
import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// go-micro's NATS broker: the subject is the topic, the payload the broker message as JSON
/// (`{"Header": {...}, "Body": "<base64>"}`), a queue group a NATS queue subscription.
///
/// Delivery is at most once, as in go-micro (no redelivery without JetStream): a handler's error is
/// logged and the message is gone. Each subscription runs its handler for one message at a time, in
/// the order NATS delivered them, in a task that ends when the subscription or the broker ends.
public final class NATSBroker: Broker {
    public let name = "nats"

    private let source: NATSConnectionSource
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var next = 0
        var subscriptions: [Int: NATSBrokerSubscription] = [:]
        var closed = false
    }

    /// A broker on `connection`, which others may share; ``shutdown()`` leaves it open.
    public init(connection: NATSConnection, logger: Logger = Logger(label: "micro.broker.nats")) {
        self.source = NATSConnectionSource(shared: connection, logger: logger)
        self.logger = logger
    }

    /// A broker that connects with `options` on first use and closes that connection on ``shutdown()``.
    public init(options: NATSOptions = NATSOptions(), logger: Logger = Logger(label: "micro.broker.nats")) {
        self.source = NATSConnectionSource(options: options, logger: logger)
        self.logger = logger
    }

    /// Shared coders: configured once, safe to use concurrently.
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    public func publish(_ topic: String, _ message: BrokerMessage) async throws {
        guard !state.withLockedValue({ $0.closed }) else { throw NATSBrokerError(.shutdown, "broker is shut down") }
        let connection = try await source.get()
        let payload = ByteBuffer(data: try Self.encoder.encode(message))
        do {
            try await connection.publish(topic, payload: payload)
        } catch let e as NATSError where e.code == .maxPayloadExceeded {
            throw MicroError.tooLarge("go.micro.broker", "message of \(payload.readableBytes) bytes for \(topic) exceeds the server's max_payload")
        }
    }

    public func subscribe(_ topic: String, queue: String?, handler: @escaping @Sendable (BrokerEvent) async throws -> Void) async throws -> any BrokerSubscription {
        guard !state.withLockedValue({ $0.closed }) else { throw NATSBrokerError(.shutdown, "broker is shut down") }
        let connection = try await source.get()
        let queue = queue.flatMap { $0.isEmpty ? nil : $0 }
        let natsSubscription = try connection.subscribe(topic, queue: queue)
        // The server has the subscription once this returns: a publish from any connection after it is delivered.
        do { try await connection.flush() } catch {
            try? natsSubscription.unsubscribe()
            throw error
        }
        let id = state.withLockedValue { s -> Int in s.next += 1; return s.next }
        let subscription = NATSBrokerSubscription(id: id, topic: topic, queue: queue, subscription: natsSubscription,
                                                  handler: handler, logger: logger) { [weak self] id in
            _ = self?.state.withLockedValue { $0.subscriptions.removeValue(forKey: id) }
        }
        let accepted = state.withLockedValue { s -> Bool in
            guard !s.closed else { return false }
            s.subscriptions[id] = subscription
            return true
        }
        guard accepted else {
            try? await subscription.unsubscribe()
            throw NATSBrokerError(.shutdown, "broker is shut down")
        }
        return subscription
    }

    /// The subscriptions still open.
    public var subscriptionCount: Int { state.withLockedValue { $0.subscriptions.count } }

    /// Ends every subscription (waiting for handlers that are running), then drains and closes the
    /// connection if the broker opened it.
    public func shutdown() async {
        let subs = state.withLockedValue { s -> [NATSBrokerSubscription] in
            s.closed = true
            let all = Array(s.subscriptions.values)
            s.subscriptions = [:]
            return all
        }
        for sub in subs { try? await sub.unsubscribe() }
        await source.close()
    }
}
