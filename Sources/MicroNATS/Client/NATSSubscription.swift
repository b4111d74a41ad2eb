import Logging
import Synchronization
import NIOCore

/// A subscription: the messages of its subject, in order, through a bounded buffer.
///
/// Iterate it (`for await message in subscription`) to consume messages. When more than
/// ``NATSOptions/pendingMessagesLimit`` messages or ``NATSOptions/pendingBytesLimit`` payload bytes
/// wait unconsumed, new messages are dropped and counted in ``droppedMessages`` (a slow consumer,
/// logged once per episode). The sequence ends after ``unsubscribe(after:)``, a drain, or when the
/// connection closes, once the buffered messages are consumed.
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

    private struct State: Sendable {
        var messages = CircularBuffer<NATSMessage>()
        var pendingBytes = 0
        var waiters = CircularBuffer<(id: UInt64, continuation: CheckedContinuation<NATSMessage?, Never>)>()
        var cancelled: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        var finished = false
        var dropped = 0
        var slow = false
        var received = 0
        var max: Int?
    }

    /// What happened to a message handed to ``receive(_:)``.
    enum Receipt {
        case delivered
        case dropped(firstOfEpisode: Bool)
        /// Delivered (or dropped), and it was the last one allowed by `unsubscribe(after:)`.
        case reachedMax
        case ignored
    }

    init(subject: String, queue: String?, sid: UInt64, connection: NATSConnection, pendingMessagesLimit: Int, pendingBytesLimit: Int) {
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
        let subscription: NATSSubscription
        /// The next message, or nil once the subscription ended and its buffer is empty.
        public mutating func next() async -> NATSMessage? {
            await subscription.nextMessage()
        }
    }

    // MARK: Engine side

    /// Hands a delivered message to the buffer (or a waiting consumer).
    func receive(_ message: NATSMessage) -> Receipt {
        let size = message.payload.readableBytes
        typealias Waiter = CheckedContinuation<NATSMessage?, Never>
        let (receipt, taker, ended): (Receipt, Waiter?, [Waiter]) = state.withLock { s in
            guard !s.finished else { return (.ignored, nil, []) }
            s.received += 1
            var receipt = Receipt.delivered
            let taker = s.waiters.popFirst()?.continuation
            if taker == nil {
                if s.messages.count >= limits.messages || s.pendingBytes + size > limits.bytes {
                    s.dropped += 1
                    receipt = .dropped(firstOfEpisode: !s.slow)
                    s.slow = true
                } else {
                    s.messages.append(Self.compacted(message))
                    s.pendingBytes += size
                }
            }
            guard let max = s.max, s.received >= max else { return (receipt, taker, []) }
            s.finished = true
            let ended = s.waiters.map(\.continuation)
            s.waiters.removeAll()
            return (.reachedMax, taker, ended)
        }
        taker?.resume(returning: message)
        for waiter in ended { waiter.resume(returning: nil) }
        return receipt
    }

    /// A message whose payload no longer pins a much larger receive buffer while it waits in the queue,
    /// so the pending limits bound memory, not just payload bytes.
    private static func compacted(_ message: NATSMessage) -> NATSMessage {
        let size = message.payload.readableBytes
        guard message.payload.storageCapacity > 2 * Swift.max(size, 512) else { return message }
        var copy = message
        copy.payload = ByteBuffer(bytes: message.payload.readableBytesView)
        return copy
    }

    /// Sets the total number of messages after which the subscription ends; true when already reached.
    func limit(to maxMessages: Int) -> Bool {
        let (reached, waiters): (Bool, [CheckedContinuation<NATSMessage?, Never>]) = state.withLock { s in
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
        let waiters = state.withLock { s -> [CheckedContinuation<NATSMessage?, Never>] in
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

    fileprivate func nextMessage() async -> NATSMessage? {
        enum Fast { case message(NATSMessage), end, wait(UInt64) }
        let fast: Fast = state.withLock { s in
            if let message = take(&s) { return .message(message) }
            if s.finished { return .end }
            s.nextWaiterID += 1
            return .wait(s.nextWaiterID)
        }
        let id: UInt64
        switch fast {
        case .message(let message): return message
        case .end: return nil
        case .wait(let waiterID): id = waiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<NATSMessage?, Never>) in
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
            let waiter = state.withLock { s -> CheckedContinuation<NATSMessage?, Never>? in
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
