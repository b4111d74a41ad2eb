import Foundation
import Logging
import MicroCore
import NATSClient

/// An ``MicroCore/EventStore`` on NATS JetStream (`MICRO_EVENT_STORE=nats`, `MICRO_EVENT_STORE_ADDRESS`
/// the server URLs).
///
/// - Topics share one JetStream stream, `MICRO_EVENT_STORE` with subjects `micro.eventstore.>`, on disk;
///   an event is one message (``NATSEventCoding``), deduplicated by `Nats-Msg-Id` within the duplicate
///   window only (``NATSEventsConfiguration/duplicateWindow``, 2 minutes by default,
///   `MICRO_EVENT_STORE_DUPLICATE_WINDOW`): an id written again after the window is stored again, and
///   reads return both. JetStream keeps no index of ids beyond its window; where ids must stay unique
///   for good, use the PostgreSQL event store (unique on topic and id) or widen the window.
/// - Retention is the stream's: ``MicroCore/EventRetention/maxAge`` is `max_age` (by the time the
///   server stored the event) and reads also drop events whose own timestamp is past it;
///   ``MicroCore/EventRetention/maxCount`` is `max_msgs_per_subject`, the latest per topic. A stream made
///   with other limits is updated to this store's.
/// - A read goes through the topic's messages with an ephemeral consumer (no acks), filters by time,
///   sorts, then applies the offset and limit. A read with a start time starts that consumer at it
///   (JetStream's `opt_start_time`, less ``NATSEventsConfiguration/clockSkew``), so it reads only what
///   was stored since; a read without one goes through the whole topic, so keep topics bounded by
///   retention. A message that is not an event fails the read with ``MicroCore/EventsError/Code/malformed``.
public final class NATSEventStore: EventStore {
    /// Always `nats`.
    public let name = "nats"
    let log: NATSEventLog

    /// A store on `connection`, which others may share; ``shutdown()`` leaves it open. Throws for a retention out of range.
    public convenience init(connection: NATSConnection, configuration: NATSEventsConfiguration = .store,
                            retention: EventRetention = EventRetention(), logger: Logger = Logger(label: "micro.eventstore.nats")) throws {
        try self.init(source: NATSConnectionSource(shared: connection, logger: logger), configuration: configuration, retention: retention,
                      logger: logger)
    }

    /// A store that connects with `options` on first use and closes that connection on ``shutdown()``.
    public convenience init(options: NATSOptions, configuration: NATSEventsConfiguration = .store,
                            retention: EventRetention = EventRetention(), logger: Logger = Logger(label: "micro.eventstore.nats")) throws {
        try self.init(source: NATSConnectionSource(options: options, logger: logger), configuration: configuration, retention: retention,
                      logger: logger)
    }

    /// A store on the servers of a comma-separated list of URLs (empty or nil: `nats://127.0.0.1:4222`).
    public convenience init(addresses: String?, configuration: NATSEventsConfiguration = .store,
                            retention: EventRetention = EventRetention(), logger: Logger = Logger(label: "micro.eventstore.nats")) throws {
        try self.init(options: NATSOptions.servers(addresses), configuration: configuration, retention: retention, logger: logger)
    }

    private init(source: NATSConnectionSource, configuration: NATSEventsConfiguration, retention: EventRetention, logger: Logger) throws {
        try retention.validate()
        log = NATSEventLog(source: source, configuration: configuration, retention: retention, logger: logger)
    }

    public var limits: EventLimits { log.configuration.limits }
    public var retention: EventRetention { log.retention }
    /// The stream, subjects, limits and timeouts.
    public var configuration: NATSEventsConfiguration { log.configuration }

    @discardableResult
    public func write(_ event: Event) async throws -> EventReceipt {
        try limits.validate(event)
        return try await log.publish(event)
    }

    public func read(_ topic: String, _ query: EventQuery) async throws -> [Event] {
        try EventTopic.validate(topic)
        try query.validate()
        let js = try await log.jetStream()
        try await log.ensureStream(js)
        let stream = log.configuration.streamName
        let name = "read-" + UUID().uuidString.lowercased()
        var consumer = JetStream.ConsumerConfiguration(name: name, ackPolicy: .none, filterSubject: log.configuration.subject(topic),
                                                       inactiveThreshold: .seconds(30))
        if let from = query.from {
            // An event is stored no earlier than its timestamp less the clock skew allowed.
            consumer.deliverPolicy = .byStartTime
            consumer.startTime = from.addingTimeInterval(-Double(log.configuration.clockSkew.nanosecondCount) / 1e9)
        }
        let info: JetStream.ConsumerInfo
        do {
            info = try await js.createConsumer(stream: stream, consumer)
        } catch {
            throw NATSEventCoding.eventsError(error, "read \(topic)")
        }
        let result: Result<[Event], any Error>
        do {
            result = .success(try await scan(js, stream: stream, consumer: name, pending: info.pending, query))
        } catch {
            result = .failure(NATSEventCoding.eventsError(error, "read \(topic)"))
        }
        _ = try? await js.deleteConsumer(stream: stream, name: name)
        return query.apply(try result.get())
    }

    /// The events of the consumer's messages in the query's range and the retention's age.
    private func scan(_ js: JetStream, stream: String, consumer: String, pending: UInt64, _ query: EventQuery) async throws -> [Event] {
        var pending = pending
        var events: [Event] = []
        let oldest = retention.oldestMilliseconds(now: Event.epochMilliseconds(Date()))
        while pending > 0 {
            let batch = try await js.fetch(stream: stream, consumer: consumer, batch: Int(min(pending, 256)), expires: .seconds(2))
            guard !batch.isEmpty else { break }
            for message in batch {
                let event = try NATSEventCoding.event(subject: message.subject, headers: message.headers, payload: message.payload,
                                                      sequence: message.metadata.streamSequence, configuration: log.configuration)
                if let oldest, Event.epochMilliseconds(event.timestamp) < oldest { continue }
                if query.contains(event) { events.append(event) }
                pending = message.metadata.pending
            }
        }
        return events
    }

    /// Closes a connection of its own; later operations fail with ``MicroCore/EventsError/Code/unavailable``.
    public func shutdown() async {
        await log.close()
    }
}
