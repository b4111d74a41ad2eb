import Foundation
import Logging
import MicroCore
import NATSClient
import Synchronization

/// One consumer of a ``NATSEventStream``: fetches from its JetStream pull consumer, hands out events,
/// dead-letters events past their last delivery, drops (terminates) messages that are not events.
final class NATSEventConsumerSource: EventSource {
    let log: NATSEventLog
    let topic: String
    let consumerName: String
    let group: String
    let durable: Bool
    let options: ConsumeOptions

    private struct State {
        var buffer: [JetStreamMessage] = []
        var closed = false
    }

    private let state = Mutex(State())

    init(log: NATSEventLog, topic: String, consumerName: String, group: String, durable: Bool, options: ConsumeOptions) {
        self.log = log
        self.topic = topic
        self.consumerName = consumerName
        self.group = group
        self.durable = durable
        self.options = options
    }

    private var streamName: String { log.configuration.streamName }

    /// The JetStream consumer's description: the group and its settings, which every member compares
    /// with its own when it joins.
    private var consumerDescription: String { "swift micro events group \(group): \(options.groupSettings(topic: topic))" }

    /// The JetStream consumer's configuration. JetStream delivers without limit: the members dead-letter
    /// any delivery past ``MicroCore/ConsumeOptions/maxDeliveries``, so a member that dies holding that
    /// delivery leaves it to be delivered again (and dead-lettered) after the ack wait, never stuck.
    private var consumerConfiguration: JetStream.ConsumerConfiguration {
        var configuration = JetStream.ConsumerConfiguration(
            name: consumerName, durableName: durable ? consumerName : nil, description: consumerDescription,
            ackPolicy: .explicit, ackWait: options.ackWait, maxDeliver: -1,
            filterSubject: log.configuration.subject(topic), inactiveThreshold: durable ? nil : .seconds(60))
        switch options.start {
        case .beginning: configuration.deliverPolicy = .all
        case .new: configuration.deliverPolicy = .new
        case .sequence(let first):
            configuration.deliverPolicy = .byStartSequence
            configuration.startSequence = max(1, first)
        case .time(let date):
            configuration.deliverPolicy = .byStartTime
            configuration.startTime = date
        }
        return configuration
    }

    /// Makes the consumer; a durable one that exists already is joined when its settings are this
    /// member's (its description and ack wait), else this throws ``MicroCore/EventsError/Code/conflict``.
    /// It is looked up first: JetStream would otherwise update an existing consumer to this member's
    /// settings. Another start position joins: it only says where a new group starts.
    func makeConsumer(_ js: JetStream) async throws {
        let existing: JetStream.ConsumerInfo?
        do {
            existing = durable ? try await js.consumerInfo(stream: streamName, name: consumerName) : nil
            if existing == nil {
                do {
                    try await js.createConsumer(stream: streamName, consumerConfiguration)
                } catch let error as JetStreamError where error.isStreamNotFound {
                    try await log.ensureStream(js, force: true)
                    try await js.createConsumer(stream: streamName, consumerConfiguration)
                }
                return
            }
        } catch {
            throw NATSEventCoding.eventsError(error, "make consumer \(consumerName)")
        }
        guard let kept = existing?.configuration else { return }
        guard kept.description == consumerDescription, kept.ackWait == options.ackWait, kept.maxDeliver == -1 else {
            throw EventsError(.conflict, "the JetStream consumer \(consumerName) of \(streamName) has '\(kept.description ?? "")' "
                              + "(max deliver \(kept.maxDeliver), ack wait \(kept.ackWait.map { "\($0)" } ?? "-")); "
                              + "this member asked for \(options.groupSettings(topic: topic))")
        }
    }

    func next() async throws -> Event? {
        var failingSince: ContinuousClock.Instant?
        while true {
            if Task.isCancelled { return nil }
            let (message, closed): (JetStreamMessage?, Bool) = state.withLock { s in
                if s.closed { return (nil, true) }
                return (s.buffer.isEmpty ? nil : s.buffer.removeFirst(), false)
            }
            if closed { return nil }
            if let message {
                if let event = try await handle(message) { return event }
                continue
            }
            do {
                try log.checkOpen()
            } catch {
                return nil
            }
            do {
                let fetched = try await fetch()
                failingSince = nil
                state.withLock { $0.buffer += fetched }
            } catch is CancellationError {
                return nil
            } catch {
                if (try? log.checkOpen()) == nil || state.withLock({ $0.closed }) { return nil }
                let now = ContinuousClock.now
                let since = failingSince ?? now
                failingSince = since
                if now - since >= log.configuration.unavailableAfter {
                    throw NATSEventCoding.eventsError(error, "consume \(topic) in \(group)")
                }
                log.logger.debug("consumer \(consumerName) of \(streamName): \(error); retrying")
                do {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    return nil
                }
            }
        }
    }

    /// What is there at once, else up to a second's wait for one message; a consumer gone (deleted
    /// from outside, or the stream with it) is made again.
    private func fetch() async throws -> [JetStreamMessage] {
        let js = try await log.jetStream()
        do {
            let now = try await js.fetch(stream: streamName, consumer: consumerName, batch: log.configuration.fetchBatch, noWait: true)
            if !now.isEmpty { return now }
            return try await js.fetch(stream: streamName, consumer: consumerName, batch: 1, expires: .seconds(1))
        } catch let error as JetStreamError where error.errorCode == .consumerNotFound || error.isStreamNotFound
            || (error.code == .api && error.api?.code == 409 && error.detail.contains("Consumer Deleted")) {
            log.logger.notice("consumer \(consumerName) of \(streamName) is gone; making it again")
            try await log.ensureStream(js, force: error.isStreamNotFound)
            try await makeConsumer(js)
            return []
        }
    }

    /// The event `message` holds, or nil when it was dead-lettered or dropped.
    private func handle(_ message: JetStreamMessage) async throws -> Event? {
        let delivered = Int(clamping: message.metadata.delivered)
        let event: Event
        do {
            event = try NATSEventCoding.event(subject: message.subject, headers: message.headers, payload: message.payload,
                                              sequence: message.metadata.streamSequence, configuration: log.configuration)
        } catch let error as EventsError {
            if let report = options.onMalformed {
                report(error)
            } else {
                log.logger.warning("consumer \(consumerName) of \(streamName) dropped a message: \(error)")
            }
            try? await message.term()
            return nil
        }
        if let max = options.maxDeliveries, delivered > max {
            // The last allowed delivery timed out; this extra one only carries it to the dead letters.
            try await deadLetter(event, message, deliveries: max)
            return nil
        }
        var handed = event
        handed.deliveries = delivered
        let acknowledger = Acknowledger(source: self, message: message, event: event, deliveries: delivered)
        handed.acknowledger = acknowledger
        if options.autoAck { try await acknowledger.ack() }
        return handed
    }

    /// Publishes `event` to the dead-letter topic, then terminates its message.
    fileprivate func deadLetter(_ event: Event, _ message: JetStreamMessage, deliveries: Int) async throws {
        let letter = event.deadLetter(to: options.deadLetterTopic(for: topic), group: group, deliveries: deliveries)
        _ = try await log.publish(letter)
        do {
            try await message.term(confirm: log.configuration.confirmAcks)
        } catch {
            throw NATSEventCoding.eventsError(error, "terminate \(topic) #\(event.sequence)")
        }
    }

    func close() async {
        let buffered = state.withLock { s -> [JetStreamMessage]? in
            if s.closed { return nil }
            s.closed = true
            defer { s.buffer = [] }
            return s.buffer
        }
        guard let buffered else { return }
        // Give back what was fetched and not handed out, so the group gets it at once.
        for message in buffered { try? await message.nak() }
        if !durable, let js = try? await log.jetStream() {
            _ = try? await js.deleteConsumer(stream: streamName, name: consumerName)
        }
    }

    private struct Acknowledger: EventAcknowledger {
        let source: NATSEventConsumerSource
        let message: JetStreamMessage
        let event: Event
        let deliveries: Int

        func ack() async throws {
            do {
                try await message.ack(confirm: source.log.configuration.confirmAcks)
            } catch {
                throw NATSEventCoding.eventsError(error, "ack \(event.topic) #\(event.sequence)")
            }
        }

        func nack() async throws {
            if let max = source.options.maxDeliveries, deliveries >= max {
                try await source.deadLetter(event, message, deliveries: deliveries)
                return
            }
            do {
                try await message.nak(confirm: source.log.configuration.confirmAcks)
            } catch {
                throw NATSEventCoding.eventsError(error, "nack \(event.topic) #\(event.sequence)")
            }
        }
    }
}
