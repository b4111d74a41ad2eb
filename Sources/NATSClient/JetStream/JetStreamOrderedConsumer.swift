import NIOCore
import Synchronization

/// An ordered push consumer: every message of a stream (or of the subjects matching a filter) in
/// stream order, exactly once, without acknowledgements — what key-value watches and stream readers use.
///
/// It runs an ephemeral push consumer (no acks, flow control, idle heartbeats, in memory) delivering to
/// an inbox of its own, and checks every delivery's consumer sequence. On a gap (a dropped message), a
/// heartbeat telling of deliveries it did not see, a deleted consumer, or no heartbeat for three
/// intervals (the server restarted, say), it drops the consumer and makes a new one starting just
/// after the last stream sequence it delivered — or, when ``Configuration/recreate`` is false, ends
/// with ``JetStreamError/Code/consumerReset``. Iterate it from one task at a time; ``stop()`` ends it.
public final class JetStreamOrderedConsumer: AsyncSequence, Sendable {
    /// A delivered message.
    public typealias Element = JetStreamMessage

    /// What an ordered consumer delivers and how it watches its consumer.
    public struct Configuration: Sendable, Hashable {
        /// Only subjects matching this (nil: all of the stream's).
        public var filterSubject: String?
        /// Where delivery starts.
        public var deliverPolicy: JetStream.DeliverPolicy
        /// The first sequence, for ``JetStream/DeliverPolicy/byStartSequence``.
        public var startSequence: UInt64?
        /// Deliver only headers (and `Nats-Msg-Size`).
        public var headersOnly: Bool
        /// How often the server sends a heartbeat when idle (at least 100 ms); three missed ones make a new consumer.
        public var idleHeartbeat: Duration
        /// Whether a consumer that lost its place is replaced (true) or the sequence ends with an error.
        public var recreate: Bool

        /// A configuration: every message, from the first, heartbeats every 5 s, recreated when lost.
        public init(filterSubject: String? = nil, deliverPolicy: JetStream.DeliverPolicy = .all, startSequence: UInt64? = nil,
                    headersOnly: Bool = false, idleHeartbeat: Duration = .seconds(5), recreate: Bool = true) {
            self.filterSubject = filterSubject
            self.deliverPolicy = deliverPolicy
            self.startSequence = startSequence
            self.headersOnly = headersOnly
            self.idleHeartbeat = Swift.max(idleHeartbeat, .milliseconds(100))
            self.recreate = recreate
        }
    }

    /// The stream it reads.
    public let stream: String
    /// What it delivers.
    public let configuration: Configuration
    /// How many messages the first consumer had to deliver when it was created (its `num_pending`).
    public let pendingAtStart: UInt64
    private let jetStream: JetStream
    private let state: Mutex<State>

    private struct State: Sendable {
        var subscription: NATSSubscription?
        var consumerName: String?
        var lastStreamSequence: UInt64 = 0
        var lastConsumerSequence: UInt64 = 0
        var lastActivity = NIODeadline.now()
        var stopped = false
        var monitor: RepeatedTask?
        var resets = 0
    }

    private init(jetStream: JetStream, stream: String, configuration: Configuration, pendingAtStart: UInt64, state: State) {
        self.jetStream = jetStream
        self.stream = stream
        self.configuration = configuration
        self.pendingAtStart = pendingAtStart
        self.state = Mutex(state)
    }

    /// Creates the first consumer (so a missing stream or a refused configuration throws here) and starts watching its heartbeats.
    static func start(_ jetStream: JetStream, stream: String, configuration: Configuration) async throws -> JetStreamOrderedConsumer {
        try JetStream.validateName(stream, "stream")
        if let filter = configuration.filterSubject { try JetStream.validateSubject(filter, wildcards: true) }
        let (subscription, info) = try await create(jetStream, stream: stream, configuration: configuration, after: 0)
        var state = State()
        state.subscription = subscription
        state.consumerName = info.name
        let consumer = JetStreamOrderedConsumer(jetStream: jetStream, stream: stream, configuration: configuration,
                                                pendingAtStart: info.pending, state: state)
        let interval = TimeAmount(configuration.idleHeartbeat)
        let monitor = jetStream.connection.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak consumer] task in
            guard let consumer else { task.cancel(); return }
            consumer.checkHeartbeat()
        }
        consumer.state.withLock { $0.monitor = monitor }
        return consumer
    }

    /// A new consumer delivering to a new inbox, from just after `after` (0: from the configured start).
    private static func create(_ jetStream: JetStream, stream: String, configuration: Configuration,
                               after: UInt64) async throws -> (NATSSubscription, JetStream.ConsumerInfo) {
        let connection = jetStream.connection
        let inbox = connection.newInbox()
        let subscription: NATSSubscription
        do {
            subscription = try connection.subscribe(inbox)
        } catch {
            throw JetStreamError.wrapping(error, "ordered consumer of \(stream)")
        }
        let resume = after > 0
        let consumer = JetStream.ConsumerConfiguration(
            deliverPolicy: resume ? .byStartSequence : configuration.deliverPolicy,
            startSequence: resume ? after + 1 : configuration.startSequence,
            ackPolicy: .none, maxDeliver: 1, filterSubject: configuration.filterSubject, replayPolicy: .instant,
            deliverSubject: inbox, flowControl: true, idleHeartbeat: configuration.idleHeartbeat,
            headersOnly: configuration.headersOnly, replicas: 1, memoryStorage: true)
        do {
            let info = try await jetStream.createConsumer(stream: stream, consumer)
            return (subscription, info)
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
    }

    /// The sequence's iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: self) }

    /// Iterates the messages.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: JetStreamOrderedConsumer

        /// The next message; nil once stopped.
        public mutating func next() async throws -> JetStreamMessage? {
            try await consumer.next()
        }
    }

    /// How many times the consumer was replaced so far.
    public var resets: Int { state.withLock { $0.resets } }

    /// The name of the consumer on the server now (nil between a loss and its replacement).
    public var consumerName: String? { state.withLock { $0.consumerName } }

    /// The stream sequence of the last message delivered (0 before the first).
    public var lastStreamSequence: UInt64 { state.withLock { $0.lastStreamSequence } }

    /// Ends the sequence and deletes the consumer on the server.
    public func stop() async {
        let (subscription, name, monitor) = state.withLock { s -> (NATSSubscription?, String?, RepeatedTask?) in
            s.stopped = true
            defer { (s.subscription, s.consumerName, s.monitor) = (nil, nil, nil) }
            return (s.subscription, s.consumerName, s.monitor)
        }
        monitor?.cancel()
        try? subscription?.unsubscribe()
        if let name { _ = try? await jetStream.deleteConsumer(stream: stream, name: name) }
    }

    deinit {
        let (subscription, monitor) = state.withLock { ($0.subscription, $0.monitor) }
        monitor?.cancel()
        try? subscription?.unsubscribe()
    }

    // MARK: Delivery

    private func next() async throws -> JetStreamMessage? {
        let connection = jetStream.connection
        while true {
            let (subscription, stopped) = state.withLock { ($0.subscription, $0.stopped) }
            if stopped { return nil }
            guard let subscription else {
                try await reset("no consumer")
                continue
            }
            var iterator = subscription.makeAsyncIterator()
            guard let message = await iterator.next() else {
                try Task.checkCancellation()
                if state.withLock({ $0.stopped }) { return nil }
                if connection.status == .closed {
                    await stop()
                    throw JetStreamError(.connection, "ordered consumer of \(stream): the connection closed")
                }
                try await reset("the consumer went quiet")
                continue
            }
            state.withLock { $0.lastActivity = .now() }
            if let status = message.status {
                switch status {
                case 100:
                    // Flow control asks for an empty answer on its reply; a stalled consumer names one in a header.
                    if let reply = message.replyTo, !reply.isEmpty { try? await connection.publish(reply, payload: ByteBuffer()) }
                    if let stalled = message.headers?[JetStreamHeader.consumerStalled], !stalled.isEmpty {
                        try? await connection.publish(stalled, payload: ByteBuffer())
                    }
                    if let last = message.headers?[JetStreamHeader.lastConsumer], let sequence = UInt64(last),
                       sequence != state.withLock({ $0.lastConsumerSequence }) {
                        try await reset("a heartbeat at consumer sequence \(sequence)")
                    }
                case 409:
                    try await reset("status 409 \(message.headers?.statusDescription ?? "")")
                default:
                    continue
                }
                continue
            }
            guard let delivered = try? JetStreamMessage(message, connection: connection) else { continue }
            let inOrder = state.withLock { s -> Bool in
                guard delivered.metadata.consumerSequence == s.lastConsumerSequence + 1 else { return false }
                s.lastConsumerSequence = delivered.metadata.consumerSequence
                s.lastStreamSequence = delivered.metadata.streamSequence
                return true
            }
            guard inOrder else {
                try await reset("a gap before consumer sequence \(delivered.metadata.consumerSequence)")
                continue
            }
            return delivered
        }
    }

    /// Fails the current subscription when nothing arrived for three heartbeats and nothing waits in it.
    private func checkHeartbeat() {
        let limit = TimeAmount(configuration.idleHeartbeat) * 3
        let stale: NATSSubscription? = state.withLock { s in
            guard !s.stopped, let subscription = s.subscription, subscription.pendingMessages == 0,
                  NIODeadline.now() - s.lastActivity > limit else { return nil }
            s.lastActivity = .now()
            return subscription
        }
        try? stale?.unsubscribe()
    }

    /// Drops the consumer and makes a new one after the last delivered sequence, retrying with backoff
    /// until it works or the sequence is stopped; throws ``JetStreamError/Code/consumerReset`` instead
    /// when the configuration says not to recreate.
    private func reset(_ reason: String) async throws {
        let (old, after) = state.withLock { s -> (NATSSubscription?, UInt64) in
            defer { (s.subscription, s.consumerName) = (nil, nil) }
            s.resets += 1
            return (s.subscription, s.lastStreamSequence)
        }
        try? old?.unsubscribe()
        guard configuration.recreate else {
            await stop()
            throw JetStreamError(.consumerReset, "ordered consumer of \(stream) lost its place: \(reason)")
        }
        var backoff = Duration.milliseconds(50)
        while true {
            try Task.checkCancellation()
            if state.withLock({ $0.stopped }) { return }
            do {
                let (subscription, info) = try await Self.create(jetStream, stream: stream, configuration: configuration, after: after)
                let keep = state.withLock { s -> Bool in
                    guard !s.stopped else { return false }
                    s.subscription = subscription
                    s.consumerName = info.name
                    s.lastConsumerSequence = 0
                    s.lastActivity = .now()
                    return true
                }
                if !keep {
                    try? subscription.unsubscribe()
                    _ = try? await jetStream.deleteConsumer(stream: stream, name: info.name)
                }
                return
            } catch let error as JetStreamError where error.code == .connection && jetStream.connection.status == .closed {
                await stop()
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await Task.sleep(for: backoff)
                backoff = Swift.min(backoff * 2, .seconds(2))
            }
        }
    }
}

extension JetStream {
    /// An ordered consumer of `stream` (see ``JetStreamOrderedConsumer``); its first consumer is created before this returns.
    public func orderedConsumer(stream: String, _ configuration: JetStreamOrderedConsumer.Configuration = .init()) async throws -> JetStreamOrderedConsumer {
        try await JetStreamOrderedConsumer.start(self, stream: stream, configuration: configuration)
    }
}
