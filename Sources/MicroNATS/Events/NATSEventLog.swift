import Logging
import MicroCore
import NATSClient
import NIOCore
import Synchronization

/// What a ``NATSEventStream`` or ``NATSEventStore`` works on: the connection, the JetStream stream of
/// its topics (made on first use, made again when deleted from outside), publishing, and whether it
/// was shut down.
final class NATSEventLog: Sendable {
    let source: NATSConnectionSource
    let configuration: NATSEventsConfiguration
    /// The stream's age and per-subject count limits (the event store's retention).
    let retention: EventRetention
    let logger: Logger
    private let ready = Mutex(false)
    private let closed = Mutex(false)

    init(source: NATSConnectionSource, configuration: NATSEventsConfiguration, retention: EventRetention, logger: Logger) {
        self.source = source
        self.configuration = configuration
        self.retention = retention
        self.logger = logger
    }

    var name: String { configuration.streamName }

    /// Throws ``MicroCore/EventsError/Code/unavailable`` once shut down.
    func checkOpen() throws {
        if closed.withLock({ $0 }) { throw EventsError(.unavailable, "the nats event stream \(name) is shut down") }
    }

    /// A JetStream context, connecting first if needed.
    func jetStream() async throws -> JetStream {
        try checkOpen()
        do {
            return JetStream(connection: try await source.get(), options: JetStreamOptions(timeout: configuration.timeout))
        } catch {
            throw NATSEventCoding.eventsError(error, "connect to nats")
        }
    }

    /// The stream's configuration.
    var streamConfiguration: JetStream.StreamConfiguration {
        JetStream.StreamConfiguration(name: configuration.streamName, subjects: [configuration.subjectPrefix + ".>"],
                                      description: "swift micro events", maxAge: retention.maxAge,
                                      maxMessagesPerSubject: retention.maxCount.map(Int64.init) ?? -1,
                                      storage: configuration.storage, replicas: configuration.replicas,
                                      duplicateWindow: configuration.duplicateWindow)
    }

    /// Makes the stream unless this value knows it exists; one with another configuration is updated
    /// to this one.
    func ensureStream(_ js: JetStream, force: Bool = false) async throws {
        if !force, ready.withLock({ $0 }) { return }
        do {
            do {
                try await js.createStream(streamConfiguration)
            } catch let error as JetStreamError where error.errorCode == .streamNameExists {
                try await js.updateStream(streamConfiguration)
            }
        } catch {
            throw NATSEventCoding.eventsError(error, "make stream \(name)")
        }
        ready.withLock { $0 = true }
    }

    /// Publishes `event` (validated by the caller) and returns the stream's receipt; makes the stream
    /// again once when it is gone.
    func publish(_ event: Event) async throws -> EventReceipt {
        let js = try await jetStream()
        try await ensureStream(js)
        let headers = NATSEventCoding.headers(event)
        let payload = ByteBuffer(bytes: event.payload)
        let options = JetStream.PublishOptions(messageID: NATSEventCoding.messageID(event), expectedStream: configuration.streamName)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let ack = try await js.publish(configuration.subject(event.topic), payload: payload, headers: headers, options: options)
                return EventReceipt(id: event.id, sequence: ack.sequence, duplicate: ack.duplicate)
            } catch let error as JetStreamError where attempt == 1 && (error.code == .noResponders || error.isStreamNotFound) {
                // The stream was deleted from outside: make it again, publish once more.
                try await ensureStream(js, force: true)
            } catch {
                throw NATSEventCoding.eventsError(error, "publish to \(event.topic)")
            }
        }
    }

    /// Marks the log closed and closes a connection of its own (once).
    func close() async {
        let first = closed.withLock { wasClosed -> Bool in
            defer { wasClosed = true }
            return !wasClosed
        }
        if first { await source.close() }
    }
}
