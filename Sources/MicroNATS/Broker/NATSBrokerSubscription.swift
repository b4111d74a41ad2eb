import Foundation
import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// One subscription of a ``NATSBroker``: a NATS subscription and the task that hands its messages to
/// the handler, one at a time. Unsubscribing stops delivery, cancels a handler that is running and
/// returns once the task has ended.
final class NATSBrokerSubscription: BrokerSubscription {
    let topic: String
    let queue: String?
    private let id: Int
    private let subscription: NATSSubscription
    private let task: Task<Void, Never>
    private let removed: @Sendable (Int) -> Void
    private let done = NIOLockedValueBox(false)

    /// The subscription whose handler the current task is running, if any (to unsubscribe from inside a handler).
    @TaskLocal static var delivering: Int?

    init(id: Int, topic: String, queue: String?, subscription: NATSSubscription,
         handler: @escaping @Sendable (BrokerEvent) async throws -> Void, logger: Logger, removed: @escaping @Sendable (Int) -> Void) {
        self.id = id
        self.topic = topic
        self.queue = queue
        self.subscription = subscription
        self.removed = removed
        task = Task {
            await Self.$delivering.withValue(id) {
                await Self.deliver(subscription, handler: handler, logger: logger)
            }
        }
    }

    private static func deliver(_ subscription: NATSSubscription,
                                handler: @Sendable (BrokerEvent) async throws -> Void, logger: Logger) async {
        for await message in subscription {
            if Task.isCancelled { return }
            let decoded: BrokerMessage
            do {
                decoded = try NATSBroker.decoder.decode(BrokerMessage.self, from: Data(buffer: message.payload, byteTransferStrategy: .noCopy))
            } catch {
                logger.error("dropping a message that is not a broker message", metadata: [
                    "topic": "\(message.subject)", "bytes": "\(message.payload.readableBytes)", "error": "\(error)",
                ])
                continue
            }
            do {
                try await handler(BrokerEvent(topic: message.subject, message: decoded))
            } catch {
                // go-micro's NATS broker logs and moves on: there is no redelivery without JetStream.
                logger.error("subscriber failed", metadata: ["topic": "\(message.subject)", "error": "\(error)"])
            }
        }
    }

    func unsubscribe() async throws {
        let first = done.withLockedValue { d -> Bool in defer { d = true }; return !d }
        guard first else { return }
        removed(id)
        // A closed connection has no subscription left to remove: nothing to report.
        try? subscription.unsubscribe()
        task.cancel()
        // From inside this subscription's own handler the task cannot be awaited: it is the caller.
        if Self.delivering != id { await task.value }
    }
}
