import Logging
import Synchronization
import NIOCore

/// A subscription: the messages of its subject, in order, through a bounded buffer.
///
/// Iterate it (`for await message in subscription`) to consume messages. When more than
/// ``NATSOptions/pendingMessagesLimit`` messages or ``NATSOptions/pendingBytesLimit`` payload bytes
/// wait unconsumed, new messages are dropped and counted in ``droppedMessages`` (a slow consumer,
/// logged once per episode). The sequence ends after ``unsubscribe(after:)``, a drain, or when the
/// connection closes, once the buffered messages are consumed. A subscription made with a handler
/// (``NATSConnection/subscribe(_:queue:handler:)``) buffers nothing: its sequence only ends.
public final class NATSSubscription: AsyncSequence, Sendable {
    /// A delivered message.
    public typealias Element = NATSMessage
    /// Iteration never throws; the sequence just ends.
    public typealias Failure = Never

    /// The subject (may contain wildcards).
    public let subject: String
    /// The queue group, if any.
    public let queue: String?
    /// The subscription id on the connection.
    public let sid: UInt64

    private let connection: NATSConnection
    private let limits: (messages: Int, bytes: Int)
    private let state = Mutex(State())

    private typealias Continuation = UnsafeContinuation<NATSMessage?, Never>

    private struct State: Sendable {
        var messages = CircularBuffer<NATSMessage>()
        var pendingBytes = 0
        var waiters = CircularBuffer<(id: UInt64, continuation: Continuation)>()
        var cancelled: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        var finished = false
        var dropped = 0
        var slow = false
        var received = 0
        var max: Int?
    }

    /// What happened to the messages handed to ``receive(_:wireBytes:)``.
    struct Receipt {
        /// How many were dropped (the buffer was full).
        var dropped = 0
        /// Whether the buffer just became full (the first drop of an episode).
        var slowConsumerStarted = false
        /// Whether the last message allowed by `unsubscribe(after:)` arrived.
        var reachedMax = false
    }

    /// Set for a handler subscription: messages go straight to it on the event loop, never to the buffer.
    private let handler: (@Sendable (NATSMessage) -> Void)?

    init(subject: String, queue: String?, sid: UInt64, connection: NATSConnection, pendingMessagesLimit: Int, pendingBytesLimit: Int,
         handler: (@Sendable (NATSMessage) -> Void)? = nil) {
        self.handler = handler
        self.subject = subject
        self.queue = queue
        self.sid = sid
        self.connection = connection
        self.limits = (Swift.max(1, pendingMessagesLimit), Swift.max(1, pendingBytesLimit))
    }

    /// Stops the subscription now, or after `maxMessages` messages in total have been received.
    ///
    /// Messages already buffered can still be consumed; then the sequence ends.
    public func unsubscribe(after maxMessages: Int? = nil) throws {
        try connection.unsubscribe(self, after: maxMessages)
    }

    /// Messages dropped because the buffer was full.
    public var droppedMessages: Int { state.withLock { $0.dropped } }

    /// Messages waiting to be consumed.
    public var pendingMessages: Int { state.withLock { $0.messages.count } }

    /// Payload bytes waiting to be consumed.
    public var pendingBytes: Int { state.withLock { $0.pendingBytes } }

    /// Creates an iterator over the messages.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }

    /// Iterates a subscription's messages.
    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline
        let subscription: NATSSubscription

        init(subscription: NATSSubscription) {
            self.subscription = subscription
        }

        /// The next message, or nil once the subscription ended and its buffer is empty.
        @inlinable
        public mutating func next() async -> NATSMessage? {
            // Inlined into the loop: a queued message is taken with one lock, no async call of its own.
            switch subscription._poll() {
            case .message(let message): return message
            case .end: return nil
            case .wait(let id): return await subscription._wait(id)
            }
        }

        /// The next message, or nil once the subscription ended and its buffer is empty.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> NATSMessage? {
            switch subscription._poll() {
            case .message(let message): return message
            case .end: return nil
            case .wait(let id): return await subscription._wait(id)
            }
        }
    }

    // MARK: Engine side

    /// Hands messages delivered in a row to the buffer (or to waiting consumers): one lock, one resume per consumer.
    ///
    /// The payloads are slices of the buffer they were read into. `wireBytes` is how much of it their
    /// frames took: when that is a fair share of its capacity they are queued as they are; otherwise
    /// each queued payload is copied, so a few queued messages never pin many large read buffers and
    /// the pending limits bound memory, not just payload bytes.
    func receive(_ batch: [NATSMessage], wireBytes: Int) -> Receipt {
        guard let first = batch.first else { return Receipt() }
        if let handler {
            var allowed = 0
            let receipt: Receipt = state.withLock { s in
                var receipt = Receipt()
                guard !s.finished else { return receipt }
                allowed = s.max.map { Swift.min(batch.count, Swift.max(0, $0 - s.received)) } ?? batch.count
                s.received += allowed
                if let max = s.max, s.received >= max {
                    s.finished = true
                    receipt.reachedMax = true
                }
                return receipt
            }
            for message in batch.prefix(allowed) { handler(message) }
            if receipt.reachedMax { finish() }
            return receipt
        }
        let shareBuffer = wireBytes * 2 >= first.payload.storageCapacity
        var handed: (Continuation, NATSMessage)?
        var moreHanded: [(Continuation, NATSMessage)] = []
        var ended: [Continuation] = []
        let receipt: Receipt = state.withLock { s in
            var receipt = Receipt()
            guard !s.finished else { return receipt }
            for message in batch {
                s.received += 1
                if let taker = s.waiters.popFirst()?.continuation {
                    if handed == nil { handed = (taker, message) } else { moreHanded.append((taker, message)) }
                } else {
                    let size = message.payload.readableBytes
                    if s.messages.count >= limits.messages || s.pendingBytes + size > limits.bytes {
                        receipt.dropped += 1
                        s.dropped += 1
                        if !s.slow {
                            receipt.slowConsumerStarted = true
                            s.slow = true
                        }
                    } else {
                        s.messages.append(shareBuffer ? message : Self.compacted(message))
                        s.pendingBytes += size
                    }
                }
                if let max = s.max, s.received >= max {
                    s.finished = true
                    ended = s.waiters.map(\.continuation)
                    s.waiters.removeAll()
                    receipt.reachedMax = true
                    break
                }
            }
            return receipt
        }
        if let (taker, message) = handed { taker.resume(returning: message) }
        for (taker, message) in moreHanded { taker.resume(returning: message) }
        for waiter in ended { waiter.resume(returning: nil) }
        return receipt
    }

    /// A message whose payload no longer pins a much larger receive buffer while it waits in the queue.
    private static func compacted(_ message: NATSMessage) -> NATSMessage {
        let size = message.payload.readableBytes
        guard message.payload.storageCapacity > 2 * Swift.max(size, 512) else { return message }
        var copy = message
        copy.payload = ByteBuffer(bytes: message.payload.readableBytesView)
        return copy
    }

    /// Sets the total number of messages after which the subscription ends; true when already reached.
    func limit(to maxMessages: Int) -> Bool {
        let (reached, waiters): (Bool, [Continuation]) = state.withLock { s in
            s.max = maxMessages
            guard s.received >= maxMessages, !s.finished else { return (s.finished, []) }
            s.finished = true
            let waiters = s.waiters.map(\.continuation)
            s.waiters.removeAll()
            return (true, waiters)
        }
        for w in waiters { w.resume(returning: nil) }
        return reached
    }

    /// Messages still allowed by `unsubscribe(after:)`, nil without a limit.
    var remainingLimit: Int? {
        state.withLock { s in s.max.map { Swift.max($0 - s.received, 1) } }
    }

    /// How many messages have been received so far.
    var receivedMessages: Int { state.withLock { $0.received } }

    /// Ends the sequence after the buffered messages.
    func finish() {
        let waiters = state.withLock { s -> [Continuation] in
            s.finished = true
            let waiters = s.waiters.map(\.continuation)
            s.waiters.removeAll()
            return waiters
        }
        for w in waiters { w.resume(returning: nil) }
    }

    /// Whether the sequence has ended and the buffer is empty.
    var isFinishedAndEmpty: Bool { state.withLock { $0.finished && $0.messages.isEmpty } }

    // MARK: Consumer side

    private func take(_ s: inout State) -> NATSMessage? {
        guard let message = s.messages.popFirst() else { return nil }
        s.pendingBytes -= message.payload.readableBytes
        if s.slow && s.messages.count <= limits.messages / 2 && s.pendingBytes <= limits.bytes / 2 { s.slow = false }
        return message
    }

    /// What the consumer gets without waiting.
    @usableFromInline
    enum _Polled {
        case message(NATSMessage)
        case end
        /// Nothing queued: wait with this waiter id.
        case wait(UInt64)
    }

    /// Takes the next queued message, if any.
    @usableFromInline
    func _poll() -> _Polled {
        state.withLock { s in
            if let message = take(&s) { return .message(message) }
            if s.finished { return .end }
            s.nextWaiterID += 1
            return .wait(s.nextWaiterID)
        }
    }

    /// Waits for the next message (after ``_poll()`` found none).
    @usableFromInline
    func _wait(_ id: UInt64) async -> NATSMessage? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: Continuation) in
                enum Now { case message(NATSMessage), end, waiting }
                let now: Now = state.withLock { s in
                    if let message = take(&s) { return .message(message) }
                    if s.finished || s.cancelled.remove(id) != nil { return .end }
                    s.waiters.append((id, continuation))
                    return .waiting
                }
                switch now {
                case .message(let message): continuation.resume(returning: message)
                case .end: continuation.resume(returning: nil)
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Continuation? in
                if let index = s.waiters.firstIndex(where: { $0.id == id }) {
                    return s.waiters.remove(at: index).continuation
                }
                s.cancelled.insert(id)
                return nil
            }
            waiter?.resume(returning: nil)
        }
    }
}
