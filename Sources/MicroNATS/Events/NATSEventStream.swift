import Foundation
import Logging
import MicroCore
import NATSClient

/// An ``MicroCore/EventStream`` on NATS JetStream (`MICRO_EVENTS=nats`, `MICRO_EVENTS_ADDRESS` the
/// server URLs).
///
/// - Topics share one JetStream stream, `MICRO_EVENTS` with subjects `micro.events.>` (``NATSEventsConfiguration``),
///   on disk, made on first use; an event is one message (``NATSEventCoding``). Publishes wait for the
///   stream's acknowledgement and are deduplicated by JetStream's `Nats-Msg-Id` within its duplicate
///   window (2 minutes by default).
/// - A consumer group is a durable pull consumer named `<group>~<topic with . as ~>`, filtered to the
///   topic's subject, with explicit acks and the group's ack wait; it keeps its place across restarts
///   of the consumers and of the server. A consumer without a group is an ephemeral consumer of its
///   own, deleted when it closes (or by the server after a minute unused).
/// - Members fetch in batches (``NATSEventsConfiguration/fetchBatch``): what is there at once, else
///   they wait up to a second for one message.
/// - Max deliveries: the JetStream consumer allows one delivery more than ``MicroCore/ConsumeOptions/maxDeliveries``;
///   a nack of the last allowed delivery, or that extra delivery (after the last one timed out), publishes the event to
///   the dead-letter topic (deduplicated like any publish) and then terminates it.
/// - A message that is not an event (published by someone else onto the subject) is reported to
///   ``MicroCore/ConsumeOptions/onMalformed`` and terminated; the consumer goes on.
/// - While the server is down, publishes fail with ``MicroCore/EventsError/Code/unavailable`` after
///   ``NATSEventsConfiguration/timeout``; consumers keep retrying for ``NATSEventsConfiguration/unavailableAfter``
///   and go on when the server is back.
public final class NATSEventStream: EventStream {
    /// Always `nats`.
    public let name = "nats"
    let log: NATSEventLog

    /// A stream on `connection`, which others may share; ``shutdown()`` leaves it open.
    public convenience init(connection: NATSConnection, configuration: NATSEventsConfiguration = NATSEventsConfiguration(),
                            logger: Logger = Logger(label: "micro.events.nats")) {
        self.init(source: NATSConnectionSource(shared: connection, logger: logger), configuration: configuration, logger: logger)
    }

    /// A stream that connects with `options` on first use and closes that connection on ``shutdown()``.
    public convenience init(options: NATSOptions, configuration: NATSEventsConfiguration = NATSEventsConfiguration(),
                            logger: Logger = Logger(label: "micro.events.nats")) {
        self.init(source: NATSConnectionSource(options: options, logger: logger), configuration: configuration, logger: logger)
    }

    /// A stream on the servers of a comma-separated list of URLs (`MICRO_EVENTS_ADDRESS`; empty or nil: `nats://127.0.0.1:4222`).
    public convenience init(addresses: String?, configuration: NATSEventsConfiguration = NATSEventsConfiguration(),
                            logger: Logger = Logger(label: "micro.events.nats")) {
        self.init(options: NATSOptions.servers(addresses), configuration: configuration, logger: logger)
    }

    private init(source: NATSConnectionSource, configuration: NATSEventsConfiguration, logger: Logger) {
        log = NATSEventLog(source: source, configuration: configuration, retention: EventRetention(), logger: logger)
    }

    /// The stream, subjects, limits and timeouts.
    public var configuration: NATSEventsConfiguration { log.configuration }
    public var limits: EventLimits { log.configuration.limits }

    @discardableResult
    public func publish(_ event: Event) async throws -> EventReceipt {
        try limits.validate(event)
        return try await log.publish(event)
    }

    public func consume(_ topic: String, options: ConsumeOptions) async throws -> EventConsumer {
        try options.validate(topic: topic)
        let js = try await log.jetStream()
        try await log.ensureStream(js)
        let group = options.group ?? "consumer-" + UUID().uuidString.lowercased()
        let consumerName = options.group.map { Self.consumerName(group: $0, topic: topic) } ?? group
        let source = NATSEventConsumerSource(log: log, topic: topic, consumerName: consumerName, group: group,
                                             durable: options.group != nil, options: options)
        try await source.makeConsumer(js)
        return EventConsumer(topic: topic, group: group, source: source)
    }

    /// The durable consumer name of `group` on `topic`: `<group>~<topic with . as ~>` (groups have no
    /// `~`, topics no empty tokens, so no two pairs share a name).
    public static func consumerName(group: String, topic: String) -> String {
        "\(group)~\(topic.replacingOccurrences(of: ".", with: "~"))"
    }

    /// Ends every consumer's fetching and closes a connection of its own.
    public func shutdown() async {
        await log.close()
    }
}
