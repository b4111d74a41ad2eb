import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

/// A connection to a NATS server (or cluster): publish, subscribe, request, with reconnection.
///
/// Reading, the handshake, pings and reconnection run on one event loop. ``publish(_:payload:headers:replyTo:)``
/// is callable from any task: it encodes the frame into a shared outbound buffer under its own lock
/// (one pass, no allocation). On a plain TCP connection that buffer is written to the socket right
/// there, from the publishing thread, unless publishers are streaming: then frames accumulate and the
/// publishers write them in large writes (once ``Outbound/lingerBytes`` accumulated, or when frames
/// waited a whole ``Outbound/lingerDelay``), and the event loop writes what is left once they stop.
/// With TLS, or while the socket is full, the event loop writes instead, once per tick.
/// When the socket falls behind and the buffer reaches ``NATSOptions/maxOutboundBytes``, publishers
/// wait until it drained (backpressure, never an error). While reconnecting, the buffer keeps
/// publishes (up to ``NATSOptions/reconnectBufferSize``; past it publish throws) and is sent, after
/// the subscriptions are restored, once a server is reached again.
public final class NATSConnection: Sendable {
    /// The version sent in `CONNECT`.
    static let clientVersion = "0.1.0"

    let options: NATSOptions
    let logger: Logger
    let eventLoop: any EventLoop
    private let state: Mutex<State>
    /// The publish path: the outbound buffer and what a publish needs to check. Taken inside `state`'s lock, never around it.
    private let out: Mutex<Outbound>
    private let sslContextBox = Mutex<NIOSSLContext?>(nil)

    private enum Phase: Sendable { case connecting, connected, reconnecting, closed }

    private struct PendingRequest: Sendable {
        var continuation: UnsafeContinuation<NATSMessage, any Error>
        /// The connection epoch the request was sent on (the next one when sent while reconnecting).
        var epoch: UInt64
        var deadline: NIODeadline
        var subject: String
        var timeout: Duration
    }

    private struct Waiter: Sendable {
        var continuation: CheckedContinuation<Void, any Error>
        var timeout: Scheduled<Void>?
    }

    private struct Inbox: Sendable {
        /// `_INBOX.<nuid>.`
        var prefix: String
        var sid: UInt64
    }

    private struct State: Sendable {
        var phase = Phase.connecting
        var draining = false
        var channel: (any Channel)?
        var info = NATSServerInfo()
        var servers: [NATSServerAddress]
        var serverIndex = 0
        var nextSID: UInt64 = 0
        var subscriptions: [UInt64: NATSSubscription] = [:]
        var inbox: Inbox?
        var requests: [UInt64: PendingRequest] = [:]
        var cancelledRequests: Set<UInt64> = []
        var nextToken: UInt64 = 0
        /// The timer failing requests past their deadline (one per connection, at the earliest deadline).
        var sweep: (task: Scheduled<Void>, at: NIODeadline)?
        var waiters: [UInt64: Waiter] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        /// One entry per `PING` on the current channel: the flush waiting for its `PONG`, or nil for a keep-alive.
        var pongQueue = CircularBuffer<UInt64?>()
        /// Flushes asked for while reconnecting, sent once connected.
        var reconnectFlushes: [UInt64] = []
        var pingsOut = 0
        /// Received and reconnect counters (the publish counters live in ``Outbound``).
        var statistics = NATSStatistics()
        /// Incremented on every (re)connection.
        var epoch: UInt64 = 0
        var failedAttempts = 0
        var pingTask: RepeatedTask?
        var reconnectTask: Scheduled<Void>?
        /// The connection attempt under way, if any.
        var attempt: EventLoopFuture<Void>?
        var nuid = NATSNUID()
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var closeComplete = false

        init(servers: [NATSServerAddress]) {
            self.servers = servers
        }
    }

    /// A publisher waiting for the outbound buffer to drain.
    private struct DrainWaiter: Sendable {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// What must happen outside the outbound lock after frames were added or flushed.
    private struct FlushAction: Sendable {
        /// Run ``NATSConnection/flushOutbound(linger:attempt:)`` on the event loop.
        var scheduleFlush = false
        /// Arm the lingering flush with this token (0: none), to run after `lingerDelay`.
        var linger: UInt64 = 0
        var lingerDelay = Outbound.lingerDelay
        /// Publishers that waited for room, to resume.
        var waiters: [DrainWaiter] = []
        /// A direct write failed: close this channel, so the connection notices and reconnects.
        var broken: (any Channel)?
        /// Bytes to hand to the channel (on the event loop); `tracked`: count them in ``Outbound/channelWrites``.
        var write: (channel: any Channel, bytes: ByteBuffer, tracked: Bool)?

        /// Whether all there is to do is scheduling the flush.
        var isScheduleOnly: Bool { scheduleFlush && linger == 0 && waiters.isEmpty && broken == nil && write == nil }
    }

    /// The publish path's state, under its own lock so publishers contend with nothing but each other and one flush per tick.
    private struct Outbound: ~Copyable, Sendable {
        /// Mirrors ``State/phase`` (set under both locks).
        var mode = Phase.connecting
        /// The current channel while connected.
        var channel: (any Channel)?
        /// Frames not yet handed to the channel (publishes while reconnecting, or until the next flush).
        var buffer = NATSOutboundBuffer()
        /// The buffers handed to the channel the last two times, reused (the older first) once the channel let go of
        /// them: the same warm memory again and again instead of fresh pages for every write.
        var spare: ByteBuffer?
        var olderSpare: ByteBuffer?
        /// A flush is queued on the event loop, or waits for the channel to become writable, or lingers (below).
        var flushScheduled = false
        /// The pending lingering flush (0: none): the next flush after a large write, run after
        /// ``lingerDelay`` or once ``lingerBytes`` accumulated, whichever comes first.
        var lingerToken: UInt64 = 0
        var nextLingerToken: UInt64 = 0
        var maxPayload = NATSServerInfo().maxPayload
        /// The last subject published to, already validated.
        var lastSubject: String?
        /// `PUB <lastSubject> <headerPayloadBytes>\r\n`, once the same subject was published to twice in a row.
        var header: [UInt8] = []
        /// The payload size `header` was made for, -1 when there is none.
        var headerPayloadBytes = -1
        var outMsgs = 0
        var outBytes = 0
        var drainWaiters: [DrainWaiter] = []
        var cancelledDrains: Set<UInt64> = []
        var nextDrainID: UInt64 = 0

        /// Buffers larger than this are not kept for reuse (they grow to about twice the high-water mark while the socket is behind).
        let maxReusedCapacity: Int
        /// How much a lingering flush lets accumulate before publishers write it (or have it written) early:
        /// ``lingerBytes``, or half the high-water mark when that is smaller, so publishers never wait for the timer.
        let earlyFlushBytes: Int
        /// Frames written since the last flush.
        var framesSinceFlush = 0

        /// The socket, for writing frames straight from the publishing thread (plain TCP only). While ``directPaused``
        /// (the socket was full, or the channel still has writes of its own), frames go through the channel instead.
        var direct: NATSSocket?
        var directPaused = false
        /// Writes handed to the channel and not completed yet, while there is a ``direct`` socket.
        var channelWrites = 0
        /// When the last direct write happened, and how many came in a row less than ``burstGap`` apart.
        var lastDirectWrite = NIODeadline.uptimeNanoseconds(0)
        var quickWrites = 0
        /// ``framesSinceFlush`` when the lingering timer last looked, and how many looks in a row found publishers
        /// writing for themselves.
        var framesAtLastLinger = 0
        var lingerLooks = 0
        /// ``directWrites`` when the lingering timer last looked: more now means publishers wrote since.
        var directWritesAtLook = 0
        /// Frames waited a whole look without being written: the next publish writes what is buffered, whatever its size.
        var writeDue = false
        /// Direct writes, and how many of them found the socket full (for tests).
        var directWrites = 0
        var directWritesPaused = 0

        /// A write at least this large, or of more than one frame, means publishers are streaming (they add frames
        /// faster than they could be written one by one): the next flush lingers.
        static let burstBytes = 16 * 1024
        /// How long after a large write the lingering timer first looks (then every ``lingerDelay`` or twice that
        /// while publishers keep writing for themselves).
        ///
        /// Each look is an event-loop wake-up on the core nats-server also needs; 100 µs cost a fifth of the
        /// 1 KiB publish rate on 2 cores. It bounds how long the last frames of a burst wait (one or two looks).
        static let lingerDelay = TimeAmount.microseconds(250)
        /// How much a lingering flush lets accumulate at most before publishers write it to the socket themselves (or
        /// trigger the event loop's flush).
        static let lingerBytes = 512 * 1024
        /// Direct writes closer together than this, `burstWrites` times in a row, mean publishers are streaming.
        static let burstGap = TimeAmount.microseconds(20)
        static let burstWrites = 4

        var canWriteDirect: Bool { direct != nil && !directPaused }

        /// After frames were added: writes them to the socket now (a single publish, a request, an answer), or lets them
        /// accumulate (publishers are streaming, or a flush is on its way), or has the event loop flush them.
        mutating func flushNeeded() -> FlushAction? {
            guard mode == .connected else { return nil }
            if canWriteDirect {
                if flushScheduled {
                    // Lingering: publishers write once it is large, or once the timer found frames waiting a whole look.
                    if writeDue { return writeDirect(now: .now()) }
                    return buffer.readableBytes >= earlyFlushBytes ? writeDirect(now: .now()) : nil
                }
                let now = NIODeadline.now()
                quickWrites = now - lastDirectWrite < Self.burstGap ? quickWrites + 1 : 0
                if quickWrites >= Self.burstWrites {
                    lingerLooks = 0
                    return FlushAction(linger: startLingering())
                }
                return writeDirect(now: now)
            }
            if !flushScheduled {
                flushScheduled = true
                return FlushAction(scheduleFlush: true)
            }
            if lingerToken != 0, buffer.readableBytes >= earlyFlushBytes {
                lingerToken = 0   // the timer will find itself superseded
                return FlushAction(scheduleFlush: true)
            }
            return nil
        }

        /// Marks a lingering flush as pending; returns the token of the timer to arm.
        mutating func startLingering() -> UInt64 {
            flushScheduled = true
            nextLingerToken &+= 1
            lingerToken = nextLingerToken
            return lingerToken
        }

        /// Writes the buffer to the socket from this thread. What the socket does not take goes through the channel
        /// (which waits until the socket drains); direct writes resume once the channel wrote it all.
        mutating func writeDirect(now: NIODeadline) -> FlushAction? {
            guard let direct else { return nil }
            lastDirectWrite = now
            framesSinceFlush = 0
            framesAtLastLinger = 0
            writeDue = false
            directWrites += 1
            switch buffer.write(to: direct) {
            case .wrote(let count):
                var action: FlushAction?
                if buffer.readableBytes > 0 {
                    directWritesPaused += 1
                    directPaused = true
                    lingerToken = 0
                    flushScheduled = true
                    action = FlushAction(scheduleFlush: true)
                }
                if count > 0, !drainWaiters.isEmpty {
                    if action == nil { action = FlushAction() }
                    action!.waiters = takeDrainWaiters()
                }
                return action
            case .failed:
                // The connection is broken: what is buffered is lost with it, and the channel is closed to notice.
                self.direct = nil
                buffer.removeAll()
                return FlushAction(waiters: takeDrainWaiters(), broken: channel)
            }
        }

        /// Everything buffered, leaving an empty buffer (the previous one again when the channel is done with it).
        mutating func takeBuffer(allocator: ByteBufferAllocator) -> ByteBuffer {
            var next = olderSpare ?? allocator.buffer(capacity: 4096)
            olderSpare = spare
            spare = nil
            if next.capacity > maxReusedCapacity { next = allocator.buffer(capacity: 64 * 1024) }
            // Emptied: keeps the memory when the channel is done with it, else allocates.
            let bytes = buffer.take(replacingWith: next)
            spare = bytes
            return bytes
        }

        /// Forgets the reusable buffers (the channel they went to is gone).
        mutating func dropSpares() {
            spare = nil
            olderSpare = nil
        }

        /// The waiting publishers, now to be resumed.
        mutating func takeDrainWaiters() -> [DrainWaiter] {
            guard !drainWaiters.isEmpty else { return [] }
            let waiters = drainWaiters
            drainWaiters = []
            return waiters
        }
    }

    /// What must happen outside the lock once the connection closed.
    private struct Teardown: Sendable {
        var channel: (any Channel)?
        var outbound: ByteBuffer
        var tasks: [Scheduled<Void>] = []
        var pingTask: RepeatedTask?
        var requests: [PendingRequest] = []
        var waiters: [Waiter] = []
        var drainWaiters: [DrainWaiter] = []
        var subscriptions: [NATSSubscription] = []
        var attempt: EventLoopFuture<Void>?
        var error: NATSError
    }

    private init(options: NATSOptions, logger: Logger, eventLoop: any EventLoop, servers: [NATSServerAddress]) {
        self.options = options
        self.logger = logger
        self.eventLoop = eventLoop
        self.state = Mutex(State(servers: servers))
        self.out = Mutex(Outbound(
            maxReusedCapacity: max(4 * options.maxOutboundBytes, 4 << 20),
            earlyFlushBytes: max(1024, min(Outbound.lingerBytes, options.maxOutboundBytes / 2))))
    }

    /// Connects to the first reachable server of `options.servers` (each tried once) and returns once the server accepted `CONNECT`.
    ///
    /// Throws ``NATSError/Code/authorizationViolation`` when the credentials are refused, ``NATSError/Code/connectFailed`` otherwise.
    public static func connect(
        _ options: NATSOptions,
        logger: Logger = Logger(label: "micro.nats"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> NATSConnection {
        var servers: [NATSServerAddress] = []
        for url in options.servers { servers.append(try NATSServerAddress(parsing: url)) }
        guard !servers.isEmpty else { throw NATSError(.connectFailed, "no servers configured") }
        let connection = NATSConnection(options: options, logger: logger, eventLoop: eventLoopGroup.next(), servers: servers)
        try await connection.connectFirst(servers)
        return connection
    }

    // MARK: Public state

    /// The last `INFO` the server sent.
    public var serverInfo: NATSServerInfo { state.withLock { $0.info } }

    /// Where the connection is in its life.
    public var status: NATSConnectionStatus {
        state.withLock { s in
            switch s.phase {
            case .closed: .closed
            case _ where s.draining: .draining
            case .connecting, .connected: .connected
            case .reconnecting: .reconnecting
            }
        }
    }

    /// Counters since the connection was created.
    public var statistics: NATSStatistics {
        var statistics = state.withLock { $0.statistics }
        out.withLock { o in
            statistics.outMsgs = o.outMsgs
            statistics.outBytes = o.outBytes
        }
        return statistics
    }

    /// A new unique inbox subject, `<inboxPrefix>.<nuid>`.
    public func newInbox() -> String {
        let id = state.withLock { $0.nuid.next() }
        return "\(options.inboxPrefix).\(id)"
    }

    // MARK: Publish

    /// Publishes a message. Returns at once, without suspending, while fewer than
    /// ``NATSOptions/maxOutboundBytes`` wait for the socket (the frame is written to the socket right
    /// away, or with the next ones when publishers are streaming, or buffered while reconnecting);
    /// otherwise waits until they were written — a publisher faster than the network is slowed down,
    /// never refused. Runs on the caller's executor.
    ///
    /// Throws ``NATSError/Code/badSubject``, ``NATSError/Code/badHeader``, ``NATSError/Code/maxPayloadExceeded``,
    /// ``NATSError/Code/reconnectBufferExceeded`` (disconnected, and the bounded buffer is full: nothing was buffered),
    /// ``NATSError/Code/closed``, or `CancellationError` when the task is cancelled while waiting.
    @inlinable
    nonisolated(nonsending)
    public func publish(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, replyTo: String? = nil) async throws {
        // Inlined into the caller: a plain call to encode, no async frame or executor check of its own.
        if headers == nil, replyTo == nil {
            switch try _enqueue(subject, payload: payload) {
            case .queued: return
            case .flush: scheduleFlush(); return
            case .full: break
            }
        }
        try await _publish(subject, payload: payload, headers: headers, replyTo: replyTo)
    }

    /// Publishes without waiting, for code that cannot (a subscription handler): like
    /// ``publish(_:payload:headers:replyTo:)``, but over the outbound buffer's high-water mark it
    /// throws ``NATSError/Code/outboundBufferFull`` instead of waiting, and nothing is sent.
    public func tryPublish(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, replyTo: String? = nil) throws {
        let (headerSize, reply) = try framing(headers: headers, replyTo: replyTo)
        switch try enqueue(subject, reply: reply, headers: headers, headerSize: headerSize, payload: payload, aboveHighWater: false) {
        case .queued: return
        case .flush: scheduleFlush()
        case .full: throw NATSError(.outboundBufferFull, "the outbound buffer is over its high-water mark; publish (which waits) or retry later")
        }
    }

    /// Validates a publish's headers and reply subject; returns the headers' encoded size (-1: none) and the reply.
    private func framing(headers: NATSHeaders?, replyTo: String?) throws -> (headerSize: Int, reply: NATSFrameEncoder.Reply) {
        var headerSize = -1
        if let headers {
            try headers.validate()
            headerSize = headers.encodedLength
        }
        var reply = NATSFrameEncoder.Reply.none
        if let replyTo {
            try NATSSubject.validatePublish(replyTo)
            reply = .subject(replyTo)
        }
        return (headerSize, reply)
    }

    /// The general publish: headers, a reply subject, or waiting for room.
    @usableFromInline
    func _publish(_ subject: String, payload: ByteBuffer, headers: NATSHeaders?, replyTo: String?) async throws {
        let (headerSize, reply) = try framing(headers: headers, replyTo: replyTo)
        while true {
            switch try enqueue(subject, reply: reply, headers: headers, headerSize: headerSize, payload: payload, aboveHighWater: false) {
            case .queued:
                return
            case .flush:
                scheduleFlush()
                return
            case .full:
                try await waitForDrain()
            }
        }
    }

    /// ``publish(_:payload:headers:replyTo:)`` without headers or reply subject, up to waiting.
    @usableFromInline
    func _enqueue(_ subject: String, payload: ByteBuffer) throws(NATSError) -> _Enqueued {
        try enqueue(subject, reply: .none, headers: nil, headerSize: -1, payload: payload, aboveHighWater: false)
    }

    /// Publishes without ever waiting (for small control frames sent from synchronous code, and requests
    /// whose caller already waited for room): past the high-water mark the frame is buffered anyway.
    func publishNow(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, replyTo: String? = nil) throws {
        let (headerSize, reply) = try framing(headers: headers, replyTo: replyTo)
        if case .flush = try enqueue(subject, reply: reply, headers: headers, headerSize: headerSize, payload: payload, aboveHighWater: true) {
            scheduleFlush()
        }
    }

    /// What a publish must do once its frame was (or was not) encoded.
    @usableFromInline
    enum _Enqueued {
        /// Nothing: the flush already scheduled takes it.
        case queued
        /// Schedule the flush.
        case flush
        /// Nothing was written: wait for room.
        case full
    }

    /// Encodes one publish into the outbound buffer: `.flush` when the caller must schedule the flush,
    /// `.full` (nothing written) when the buffer is at its high-water mark and the caller must wait.
    private func enqueue(_ subject: String, reply: NATSFrameEncoder.Reply, headers: NATSHeaders?, headerSize: Int,
                         payload: ByteBuffer, aboveHighWater: Bool) throws(NATSError) -> _Enqueued {
        let highWater = options.maxOutboundBytes
        let reconnectLimit = options.reconnectBufferSize
        let (result, action) = try out.withLock { o throws(NATSError) -> (_Enqueued, FlushAction?) in
            switch o.mode {
            case .closed:
                throw NATSError(.closed, "publish on a closed connection")
            case .connected:
                if !aboveHighWater, o.buffer.readableBytes >= highWater { return (.full, nil) }
            case .connecting, .reconnecting:
                break
            }
            let sameSubject = subject == o.lastSubject
            if !sameSubject {
                try NATSSubject.validatePublish(subject)
                o.lastSubject = subject
                o.headerPayloadBytes = -1
            }
            let payloadBytes = payload.readableBytes
            let size = payloadBytes + max(headerSize, 0)
            guard size <= o.maxPayload else {
                throw NATSError(.maxPayloadExceeded, "message of \(size) bytes exceeds the server's max_payload of \(o.maxPayload)")
            }
            if o.mode == .reconnecting {
                let length = NATSFrameEncoder.publishFrameLength(subjectBytes: subject.utf8.count, reply: reply, headerSize: headerSize, payloadBytes: payloadBytes)
                guard o.buffer.readableBytes + length <= reconnectLimit else {
                    throw NATSError(.reconnectBufferExceeded, "\(reconnectLimit) bytes already buffered while reconnecting")
                }
            }
            if case .none = reply, headers == nil, sameSubject {
                // The same subject again: its `PUB <subject> <size>\r\n` line is kept (for the last size) and copied whole.
                if o.headerPayloadBytes != payloadBytes {
                    o.header.removeAll(keepingCapacity: true)
                    NATSFrameEncoder.appendPublishLine(subject, payloadBytes: payloadBytes, to: &o.header)
                    o.headerPayloadBytes = payloadBytes
                }
                o.header.withUnsafeBytes { line in
                    o.buffer.write(length: line.count + payloadBytes + 2) { base in
                        NATSFrameEncoder.copyBytes(to: base, from: line.baseAddress!, count: line.count)
                        NATSFrameEncoder.storePayload(payload, payloadBytes: payloadBytes, to: base + line.count)
                    }
                }
            } else {
                NATSFrameEncoder.writePublish(subject, reply: reply, headers: headers, headerSize: headerSize, payload: payload, into: &o.buffer)
            }
            o.outMsgs += 1
            o.outBytes += payloadBytes
            o.framesSinceFlush += 1
            guard let action = o.flushNeeded() else { return (.queued, nil) }
            return action.isScheduleOnly ? (.flush, nil) : (.queued, action)
        }
        if let action { performDeferred(action) }
        return result
    }

    /// Waits until the outbound buffer was handed to the socket (or the connection is no longer connected).
    private func waitForDrain() async throws {
        let id = out.withLock { o in
            o.nextDrainID &+= 1
            return o.nextDrainID
        }
        let highWater = options.maxOutboundBytes
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = out.withLock { o in
                    if o.cancelledDrains.remove(id) != nil { return .failure(CancellationError()) }
                    guard o.mode == .connected, o.buffer.readableBytes >= highWater else { return .success(()) }
                    o.drainWaiters.append(DrainWaiter(id: id, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter: DrainWaiter? = out.withLock { o in
                if let index = o.drainWaiters.firstIndex(where: { $0.id == id }) { return o.drainWaiters.remove(at: index) }
                o.cancelledDrains.insert(id)
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        // A cancellation that came after the wait ended left a mark behind.
        if Task.isCancelled { _ = out.withLock { $0.cancelledDrains.remove(id) } }
    }

    /// Waits while the outbound buffer is at its high-water mark.
    private func waitForRoom() async throws {
        let highWater = options.maxOutboundBytes
        while out.withLock({ $0.mode == .connected && $0.buffer.readableBytes >= highWater }) {
            try await waitForDrain()
        }
    }

    /// Sends `PING` after everything published so far and waits for the server's `PONG`.
    ///
    /// While reconnecting it waits for the connection first. Throws ``NATSError/Code/timeout`` or ``NATSError/Code/closed``.
    public func flush(timeout: Duration = .seconds(5)) async throws {
        let id = state.withLock { s in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Start { case ping, wait, fail(any Error) }
                let start: Start = state.withLock { s in
                    if s.cancelledWaiters.remove(id) != nil { return .fail(CancellationError()) }
                    switch s.phase {
                    case .closed: return .fail(NATSError(.closed, "flush on a closed connection"))
                    case .connecting, .connected:
                        s.waiters[id] = Waiter(continuation: continuation)
                        return .ping
                    case .reconnecting:
                        s.waiters[id] = Waiter(continuation: continuation)
                        s.reconnectFlushes.append(id)
                        return .wait
                    }
                }
                if case .fail(let error) = start {
                    continuation.resume(throwing: error)
                    return
                }
                let task = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                    self.finishWaiter(id, .failure(NATSError(.timeout, "no PONG within \(timeout)")))
                }
                let keep = state.withLock { s in
                    guard s.waiters[id] != nil else { return false }
                    s.waiters[id]!.timeout = task
                    return true
                }
                if !keep { task.cancel() }
                if case .ping = start { eventLoop.execute { self.sendPing(waiter: id) } }
            }
        } onCancel: {
            finishWaiter(id, .failure(CancellationError()), markCancelled: true)
        }
    }

    // MARK: Subscribe

    /// Subscribes to `subject` (wildcards allowed), optionally in a queue group; messages come through the returned sequence.
    public func subscribe(_ subject: String, queue: String? = nil) throws -> NATSSubscription {
        try subscribe(subject, queue: queue, handler: nil)
    }

    /// Subscribes with a handler called for each message, in order, on the connection's event loop as
    /// the message is read: no buffer and no hop to a task, for responders that answer at once (with
    /// ``tryPublish(_:payload:headers:replyTo:)``). The handler must not block. Unsubscribe through the
    /// returned subscription (its sequence yields nothing and ends then).
    public func subscribe(_ subject: String, queue: String? = nil,
                          handler: @escaping @Sendable (NATSMessage) -> Void) throws -> NATSSubscription {
        try subscribe(subject, queue: queue, handler: .some(handler))
    }

    private func subscribe(_ subject: String, queue: String?, handler: (@Sendable (NATSMessage) -> Void)?) throws -> NATSSubscription {
        try NATSSubject.validateSubscribe(subject)
        if let queue { try NATSSubject.validateQueue(queue) }
        let (subscription, schedule) = try state.withLock { s throws -> (NATSSubscription, Bool) in
            guard s.phase != .closed else { throw NATSError(.closed, "subscribe on a closed connection") }
            guard !s.draining else { throw NATSError(.draining, "subscribe on a draining connection") }
            s.nextSID += 1
            let subscription = NATSSubscription(
                subject: subject, queue: queue, sid: s.nextSID, connection: self,
                pendingMessagesLimit: options.pendingMessagesLimit, pendingBytesLimit: options.pendingBytesLimit, handler: handler)
            s.subscriptions[s.nextSID] = subscription
            guard s.phase == .connected else { return (subscription, false) }
            let sid = s.nextSID
            return (subscription, writeControl { NATSFrameEncoder.writeSubscribe(subject, queue: queue, sid: sid, into: &$0) })
        }
        if schedule { scheduleFlush() }
        return subscription
    }

    /// Unsubscribes now, or (with `maxMessages`) once that many messages in total were received.
    func unsubscribe(_ subscription: NATSSubscription, after maxMessages: Int?) throws {
        let sid = subscription.sid
        let (finish, schedule) = try state.withLock { s throws -> (Bool, Bool) in
            guard s.phase != .closed else { throw NATSError(.closed, "unsubscribe on a closed connection") }
            guard s.subscriptions[sid] === subscription else { return (false, false) }
            var finish = true
            var max: Int?
            if let maxMessages, maxMessages > 0, !subscription.limit(to: maxMessages) {
                finish = false
                max = maxMessages
            } else {
                s.subscriptions[sid] = nil
            }
            guard s.phase == .connected else { return (finish, false) }
            return (finish, writeControl { NATSFrameEncoder.writeUnsubscribe(sid: sid, max: max, into: &$0) })
        }
        if finish { subscription.finish() }
        if schedule { scheduleFlush() }
    }

    // MARK: Request

    /// Publishes a request and waits for the first answer, over one shared inbox subscription (`<inboxPrefix>.<nuid>.*`).
    ///
    /// Throws ``NATSError/Code/noResponders`` when nobody listens on `subject`, ``NATSError/Code/timeout``,
    /// or ``NATSError/Code/connectionClosed`` when the connection it went out on dropped.
    public func request(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try NATSSubject.validatePublish(subject)
        var headerSize = -1
        if let headers {
            try headers.validate()
            headerSize = headers.encodedLength
        }
        try await waitForRoom()
        let (token, prefix, schedule) = try state.withLock { s throws -> (UInt64, String, Bool) in
            guard s.phase != .closed else { throw NATSError(.closed, "request on a closed connection") }
            guard !s.draining else { throw NATSError(.draining, "request on a draining connection") }
            var schedule = false
            if s.inbox == nil {
                s.nextSID += 1
                let inbox = Inbox(prefix: "\(options.inboxPrefix).\(s.nuid.next()).", sid: s.nextSID)
                s.inbox = inbox
                if s.phase == .connected {
                    schedule = writeControl { NATSFrameEncoder.writeSubscribe(inbox.prefix + "*", queue: nil, sid: inbox.sid, into: &$0) }
                }
            }
            s.nextToken += 1
            return (s.nextToken, s.inbox!.prefix, schedule)
        }
        if schedule { scheduleFlush() }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<NATSMessage, any Error>) in
                let refused: (any Error)? = state.withLock { s in
                    if s.cancelledRequests.remove(token) != nil { return CancellationError() }
                    guard s.phase != .closed else { return NATSError(.closed, "request on a closed connection") }
                    let epoch = s.phase == .reconnecting ? s.epoch + 1 : s.epoch
                    s.requests[token] = PendingRequest(continuation: continuation, epoch: epoch, deadline: deadline, subject: subject, timeout: timeout)
                    if s.sweep.map({ deadline < $0.at }) ?? true { scheduleSweep(&s, at: deadline) }
                    return nil
                }
                if let refused {
                    continuation.resume(throwing: refused)
                    return
                }
                do {
                    if case .flush = try enqueue(subject, reply: .inbox(prefix: prefix, token: token), headers: headers,
                                                 headerSize: headerSize, payload: payload, aboveHighWater: true) {
                        scheduleFlush()
                    }
                } catch {
                    finishRequest(token, .failure(error))
                }
            }
        } onCancel: {
            finishRequest(token, .failure(CancellationError()), markCancelled: true)
        }
    }

    /// (Re)schedules the timer failing requests past their deadline, for `deadline`.
    private func scheduleSweep(_ s: inout State, at deadline: NIODeadline) {
        s.sweep?.task.cancel()
        let task = eventLoop.scheduleTask(deadline: deadline) { self.sweepRequests() }
        s.sweep = (task, deadline)
    }

    /// Fails the requests whose deadline passed and schedules the timer for the next one.
    private func sweepRequests() {
        let now = NIODeadline.now()
        let expired: [PendingRequest] = state.withLock { s in
            s.sweep = nil
            var expired: [PendingRequest] = []
            var next: NIODeadline?
            for (token, request) in s.requests {
                if request.deadline <= now {
                    expired.append(request)
                    s.requests[token] = nil
                } else if next.map({ request.deadline < $0 }) ?? true {
                    next = request.deadline
                }
            }
            if let next { scheduleSweep(&s, at: next) }
            return expired
        }
        for request in expired {
            request.continuation.resume(throwing: NATSError(.timeout, "no answer on \(request.subject) within \(request.timeout)"))
        }
    }

    // MARK: Drain and close

    /// Unsubscribes everything, lets the messages already delivered be consumed (up to `timeout`), flushes and closes.
    public func drain(timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        let drained: (subscriptions: [NATSSubscription], schedule: Bool)? = state.withLock { s in
            guard s.phase != .closed, !s.draining else { return nil }
            s.draining = true
            let subscriptions = s.subscriptions.values.sorted { $0.sid < $1.sid }
            guard s.phase == .connected else { return (subscriptions, false) }
            let inboxSID = s.inbox?.sid
            return (subscriptions, writeControl { buffer in
                for subscription in subscriptions { NATSFrameEncoder.writeUnsubscribe(sid: subscription.sid, max: nil, into: &buffer) }
                if let inboxSID { NATSFrameEncoder.writeUnsubscribe(sid: inboxSID, max: nil, into: &buffer) }
            })
        }
        guard let (subscriptions, schedule) = drained else {
            await close()
            return
        }
        if schedule { scheduleFlush() }
        // After the PONG, every message the server sent before the UNSUBs has arrived.
        try? await flush(timeout: max(.zero, deadline - ContinuousClock.now))
        state.withLock { s in
            for subscription in subscriptions where s.subscriptions[subscription.sid] === subscription {
                s.subscriptions[subscription.sid] = nil
            }
        }
        for subscription in subscriptions { subscription.finish() }
        while ContinuousClock.now < deadline, !subscriptions.allSatisfy(\.isFinishedAndEmpty) {
            do { try await Task.sleep(for: .milliseconds(5)) } catch { break }
        }
        await close()
    }

    /// Closes the connection: sends what is buffered, fails pending requests and flushes, ends every subscription.
    ///
    /// Returns once the socket is closed and no timer or connection attempt is left.
    public func close() async {
        let teardown = state.withLock { s in
            self.beginClose(&s, error: NATSError(.closed, "connection closed"))
        }
        if let teardown { perform(teardown) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s in
                if s.closeComplete { return true }
                s.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Moves to closed and collects what must be released; nil when already closed.
    private func beginClose(_ s: inout State, error: NATSError) -> Teardown? {
        guard s.phase != .closed else { return nil }
        s.phase = .closed
        let (outbound, drainWaiters) = out.withLock { o in
            o.mode = .closed
            o.channel = nil
            o.flushScheduled = false
            o.lingerToken = 0
            o.writeDue = false
            o.dropSpares()
            o.direct = nil
            o.directPaused = false
            o.channelWrites = 0
            let outbound = o.buffer.take(replacingWith: ByteBuffer())
            return (outbound, o.takeDrainWaiters())
        }
        var teardown = Teardown(channel: s.channel, outbound: outbound, drainWaiters: drainWaiters, error: error)
        s.channel = nil
        if let sweep = s.sweep { teardown.tasks.append(sweep.task) }
        s.sweep = nil
        if let task = s.reconnectTask { teardown.tasks.append(task) }
        s.reconnectTask = nil
        teardown.pingTask = s.pingTask
        s.pingTask = nil
        teardown.requests = Array(s.requests.values)
        s.requests.removeAll()
        teardown.waiters = Array(s.waiters.values)
        s.waiters.removeAll()
        s.pongQueue.removeAll()
        s.reconnectFlushes.removeAll()
        teardown.subscriptions = Array(s.subscriptions.values)
        s.subscriptions.removeAll()
        s.inbox = nil
        teardown.attempt = s.attempt
        return teardown
    }

    /// Releases what ``beginClose(_:error:)`` collected; marks the close complete once the channel and any attempt are done.
    private func perform(_ teardown: Teardown) {
        for task in teardown.tasks { task.cancel() }
        teardown.pingTask?.cancel()
        for request in teardown.requests {
            request.continuation.resume(throwing: teardown.error)
        }
        // They retry and find the connection closed.
        for waiter in teardown.drainWaiters { waiter.continuation.resume() }
        for waiter in teardown.waiters {
            waiter.timeout?.cancel()
            waiter.continuation.resume(throwing: teardown.error)
        }
        for subscription in teardown.subscriptions { subscription.finish() }
        var done: [EventLoopFuture<Void>] = []
        if let channel = teardown.channel {
            let outbound = teardown.outbound
            done.append(eventLoop.flatSubmit {
                if outbound.readableBytes > 0 { channel.write(outbound, promise: nil) }
                return channel.close().flatMapErrorWithEventLoop { _, loop in loop.makeSucceededVoidFuture() }
            })
            done.append(channel.closeFuture)
        }
        if let attempt = teardown.attempt {
            done.append(attempt.flatMapErrorWithEventLoop { _, loop in loop.makeSucceededVoidFuture() })
        }
        EventLoopFuture.whenAllComplete(done, on: eventLoop).whenComplete { _ in
            let waiters = self.state.withLock { s in
                s.closeComplete = true
                let waiters = s.closeWaiters
                s.closeWaiters.removeAll()
                return waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    // MARK: Connecting

    private func connectFirst(_ servers: [NATSServerAddress]) async throws {
        var errors: [NATSError] = []
        for server in servers {
            do {
                try await attemptConnection(to: server).get()
                return
            } catch let error as NATSError {
                errors.append(error)
            } catch {
                errors.append(NATSError(.connectFailed, "\(server): \(error)"))
            }
        }
        let teardown = state.withLock { s in self.beginClose(&s, error: NATSError(.closed, "connect failed")) }
        if let teardown { perform(teardown) }
        if let auth = errors.first(where: { $0.code == .authorizationViolation }) { throw auth }
        if errors.count == 1, errors[0].code == .connectFailed { throw errors[0] }
        throw NATSError(.connectFailed, errors.map(\.description).joined(separator: "; "))
    }

    /// One attempt: TCP connect, handshake, then installs the channel as the current one.
    ///
    /// The socket is connected here (on the blocking pool) and handed to a channel, keeping a second
    /// descriptor of it for direct writes (see ``NATSSocket``) unless the connection uses TLS.
    private func attemptConnection(to server: NATSServerAddress) -> EventLoopFuture<Void> {
        let handshake = eventLoop.makePromise(of: NATSChannelHandler.Handshake.self)
        let logger = self.logger
        let timeout = options.connectTimeout
        let mayWriteDirectly = options.tls == nil && !server.tls
        let eventLoop = self.eventLoop
        let socket = NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try NATSSocket.connect(host: server.host, port: server.port, timeout: timeout)
        }
        let connected: EventLoopFuture<(channel: any Channel, direct: NATSSocket?)> = socket.flatMap { descriptor in
            let direct = mayWriteDirectly ? NATSSocket.duplicate(descriptor) : nil
            return ClientBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            NATSChannelHandler(connection: self, server: server, handshake: handshake, logger: logger))
                    }
                }
                .withConnectedSocket(descriptor)
                .map { (channel: $0, direct: direct) }
        }
        connected.whenFailure { error in
            handshake.fail(NATSError(.connectFailed, "\(server): \(error)"))
        }
        return connected.flatMapError { error in
            self.eventLoop.makeFailedFuture((error as? NATSError) ?? NATSError(.connectFailed, "\(server): \(error)"))
        }.flatMap { connection in
            handshake.futureResult.flatMapThrowing { result in
                try self.install(channel: connection.channel, info: result.info, direct: result.tls ? nil : connection.direct, server: server)
            }.flatMapError { error in
                connection.channel.close(promise: nil)
                return connection.channel.closeFuture.flatMapThrowing { throw error }
            }
        }
    }

    /// Makes a freshly handshaken channel the current one: restores subscriptions, sends what was buffered, starts pinging.
    private func install(channel: any Channel, info: NATSServerInfo, direct: NATSSocket?, server: NATSServerAddress) throws {
        eventLoop.preconditionInEventLoop()
        var restore = channel.allocator.buffer(capacity: 256)
        var trailer = channel.allocator.buffer(capacity: 0)
        let interval = TimeAmount(options.pingInterval)
        let result: (outbound: ByteBuffer, reconnected: Bool, drainWaiters: [DrainWaiter])? = state.withLock { s in
            guard s.phase == .connecting || s.phase == .reconnecting, channel.isActive else { return nil }
            let reconnected = s.phase == .reconnecting
            s.phase = .connected
            s.channel = channel
            s.info = info
            s.epoch += 1
            s.pingsOut = 0
            s.pongQueue.removeAll()
            s.failedAttempts = 0
            s.reconnectTask = nil
            Self.learn(info.connectURLs, into: &s)
            if reconnected { s.statistics.reconnects += 1 }
            for (sid, subscription) in s.subscriptions.sorted(by: { $0.key < $1.key }) {
                NATSFrameEncoder.writeSubscribe(subscription.subject, queue: subscription.queue, sid: sid, into: &restore)
            }
            if let inbox = s.inbox {
                NATSFrameEncoder.writeSubscribe(inbox.prefix + "*", queue: nil, sid: inbox.sid, into: &restore)
            }
            for id in s.reconnectFlushes where s.waiters[id] != nil {
                s.pongQueue.append(id)
                NATSFrameEncoder.writePing(into: &trailer)
            }
            s.reconnectFlushes.removeAll()
            let (outbound, drainWaiters) = out.withLock { o in
                o.mode = .connected
                o.channel = channel
                o.maxPayload = info.maxPayload
                o.flushScheduled = false
                o.lingerToken = 0
                o.writeDue = false
                o.dropSpares()
                // Direct writes start once the channel wrote what follows (restored subscriptions, buffered frames).
                o.direct = direct
                o.directPaused = direct != nil
                o.channelWrites = direct != nil ? 1 : 0
                o.quickWrites = 0
                return (o.takeBuffer(allocator: channel.allocator), o.takeDrainWaiters())
            }
            s.pingTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                self.pingTick(channel)
            }
            return (outbound, reconnected, drainWaiters)
        }
        guard let result else { throw NATSError(.closed, "connection closed while connecting") }
        // Auto-unsubscribe limits still to go, after the SUBs.
        let limits = state.withLock { s in s.subscriptions.values.map { ($0.sid, $0.remainingLimit) } }
        for case let (sid, remaining?) in limits {
            NATSFrameEncoder.writeUnsubscribe(sid: sid, max: remaining, into: &restore)
        }
        if restore.readableBytes > 0 { channel.write(restore, promise: nil) }
        if result.outbound.readableBytes > 0 { channel.write(result.outbound, promise: nil) }
        if trailer.readableBytes > 0 { channel.write(trailer, promise: nil) }
        if direct != nil {
            let written = eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { _ in self.channelWriteCompleted(channel) }
            channel.writeAndFlush(ByteBuffer(), promise: written)
        } else {
            channel.flush()
        }
        for waiter in result.drainWaiters { waiter.continuation.resume() }
        if result.reconnected {
            logger.info("NATS reconnected to \(server) (\(info.serverID))")
        } else {
            logger.debug("NATS connected to \(server) (\(info.serverID), version \(info.version))")
        }
    }

    /// Adds servers announced in `connect_urls` to the list (with the first server's credentials).
    private static func learn(_ urls: [String], into s: inout State) {
        for url in urls {
            guard var address = try? NATSServerAddress(parsing: url, discovered: true) else { continue }
            guard !s.servers.contains(where: { $0.sameEndpoint(address) }) else { continue }
            if let first = s.servers.first {
                address.user = first.user
                address.password = first.password
                address.token = first.token
                address.tls = first.tls
            }
            s.servers.append(address)
        }
    }

    /// Called by the handler when the current connection closed.
    func connectionLost(_ channel: any Channel, error: (any Error)?) {
        enum Next { case reconnect([PendingRequest], [Waiter]), close(Teardown, [PendingRequest], [Waiter]) }
        let lost = NATSError(.connectionClosed, error.map { "connection lost: \($0)" } ?? "connection lost")
        var drainWaiters: [DrainWaiter] = []
        let next: Next? = state.withLock { s in
            guard s.channel === channel else { return nil }
            s.channel = nil
            s.pingTask?.cancel()
            s.pingTask = nil
            drainWaiters = out.withLock { o in
                o.channel = nil
                o.flushScheduled = false
                o.lingerToken = 0
                o.writeDue = false
                o.dropSpares()
                o.direct = nil
                o.directPaused = false
                o.channelWrites = 0
                if o.mode == .connected { o.mode = .reconnecting }
                return o.takeDrainWaiters()
            }
            var failedRequests: [PendingRequest] = []
            for (token, request) in s.requests where request.epoch <= s.epoch {
                failedRequests.append(request)
                s.requests[token] = nil
            }
            var failedWaiters: [Waiter] = []
            for id in s.pongQueue {
                if let id, let waiter = s.waiters.removeValue(forKey: id) { failedWaiters.append(waiter) }
            }
            s.pongQueue.removeAll()
            guard s.phase == .connected else { return nil }
            s.phase = .reconnecting
            if options.reconnect, !s.draining {
                if scheduleReconnect(&s) { return .reconnect(failedRequests, failedWaiters) }
            }
            return self.beginClose(&s, error: lost).map { .close($0, failedRequests, failedWaiters) }
        }
        // They retry: buffered while reconnecting (bounded), or refused once closed.
        for waiter in drainWaiters { waiter.continuation.resume() }
        guard let next else { return }
        let (requests, waiters): ([PendingRequest], [Waiter])
        switch next {
        case .reconnect(let r, let w):
            logger.warning("NATS connection lost, reconnecting: \(error.map { "\($0)" } ?? "closed by the server")")
            (requests, waiters) = (r, w)
        case .close(let teardown, let r, let w):
            logger.warning("NATS connection lost, closing: \(error.map { "\($0)" } ?? "closed by the server")")
            (requests, waiters) = (r, w)
            perform(teardown)
        }
        for request in requests {
            request.continuation.resume(throwing: lost)
        }
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.continuation.resume(throwing: lost)
        }
    }

    /// Schedules the next reconnect attempt with backoff; false when the attempts are used up.
    private func scheduleReconnect(_ s: inout State) -> Bool {
        if let maxAttempts = options.maxReconnectAttempts, s.failedAttempts >= maxAttempts { return false }
        let server = s.servers[s.serverIndex % s.servers.count]
        s.serverIndex &+= 1
        let delay = Self.backoff(attempt: s.failedAttempts, base: options.reconnectWait, cap: options.reconnectWaitMax)
        s.reconnectTask = eventLoop.scheduleTask(in: delay) { self.reconnect(to: server) }
        return true
    }

    /// Exponential backoff with full jitter: uniform in `0...min(cap, base * 2^attempt)`.
    static func backoff(attempt: Int, base: Duration, cap: Duration) -> TimeAmount {
        let baseNanos = max(Int64(1), TimeAmount(base).nanoseconds)
        let capNanos = max(baseNanos, TimeAmount(cap).nanoseconds)
        let shift = min(attempt, 30)
        let (scaled, overflow) = baseNanos.multipliedReportingOverflow(by: Int64(1) << shift)
        let ceiling = overflow ? capNanos : min(capNanos, scaled)
        return .nanoseconds(Int64.random(in: 0...ceiling))
    }

    private func reconnect(to server: NATSServerAddress) {
        // The attempt is registered before it starts, so a concurrent close() waits for it.
        let promise = eventLoop.makePromise(of: Void.self)
        let attempt = promise.futureResult
        let start = state.withLock { s in
            guard s.phase == .reconnecting else { return false }
            s.reconnectTask = nil
            s.attempt = attempt
            return true
        }
        guard start else {
            promise.succeed()
            return
        }
        attemptConnection(to: server).cascade(to: promise)
        attempt.whenComplete { result in
            let teardown: Teardown? = self.state.withLock { s in
                if s.attempt === attempt { s.attempt = nil }
                guard case .failure(let error) = result, s.phase == .reconnecting else { return nil }
                s.failedAttempts += 1
                self.logger.debug("NATS reconnect to \(server) failed (attempt \(s.failedAttempts)): \(error)")
                if self.scheduleReconnect(&s) { return nil }
                return self.beginClose(&s, error: NATSError(.connectionClosed, "gave up reconnecting after \(s.failedAttempts) attempts: \(error)"))
            }
            if let teardown {
                self.logger.error("NATS gave up reconnecting: \(teardown.error.detail)")
                self.perform(teardown)
            }
        }
    }

    // MARK: Event loop side

    /// Appends control frames to the outbound buffer (called while connected, inside `state`'s lock);
    /// true when the caller must schedule the flush.
    private func writeControl(_ write: (inout ByteBuffer) -> Void) -> Bool {
        let action: FlushAction? = out.withLock { o in
            o.buffer.withBuffer { write(&$0) }
            return o.flushNeeded()
        }
        guard let action else { return false }
        if action.isScheduleOnly { return true }
        performDeferred(action)
        return false
    }

    /// Does what a ``FlushAction`` asks, except channel writes; safe inside locks (nothing runs synchronously).
    private func performDeferred(_ action: FlushAction) {
        assert(action.write == nil)
        if action.scheduleFlush { scheduleFlush() }
        if action.linger != 0 {
            let token = action.linger
            eventLoop.scheduleTask(in: action.lingerDelay) { self.flushOutbound(linger: token) }
        }
        for waiter in action.waiters { waiter.continuation.resume() }
        if let channel = action.broken {
            eventLoop.execute { channel.close(promise: nil) }
        }
    }

    /// Does what a ``FlushAction`` asks, channel write included; on the event loop, outside the locks.
    private func perform(_ action: FlushAction) {
        eventLoop.assertInEventLoop()
        if let (channel, bytes, tracked) = action.write {
            if tracked {
                let promise = eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenComplete { _ in self.channelWriteCompleted(channel) }
                channel.writeAndFlush(bytes, promise: promise)
            } else {
                channel.writeAndFlush(bytes, promise: nil)
            }
        }
        var rest = action
        rest.write = nil
        performDeferred(rest)
    }

    /// A write handed to the channel while there is a direct socket completed: once the channel has none left,
    /// publishers write to the socket again.
    private func channelWriteCompleted(_ channel: any Channel, attempt: Int = 0) {
        let update = { (o: inout Outbound) -> FlushAction? in
            guard o.channel === channel else { return nil }
            o.channelWrites -= 1
            guard o.channelWrites == 0, o.directPaused, o.direct != nil else { return nil }
            o.directPaused = false
            // A flush on its way (or lingering) now writes directly; otherwise what accumulated goes now.
            return o.buffer.readableBytes > 0 && !o.flushScheduled ? o.writeDirect(now: .now()) : nil
        }
        let action: FlushAction?
        if attempt < Self.lockAttempts {
            guard let attempted = out.withLockIfAvailable({ update(&$0) }) else {
                eventLoop.scheduleTask(in: Self.lockRetryDelay) { self.channelWriteCompleted(channel, attempt: attempt + 1) }
                return
            }
            action = attempted
        } else {
            action = out.withLock { update(&$0) }
        }
        if let action { performDeferred(action) }
    }

    /// Runs ``flushOutbound(linger:)`` on the event loop.
    @usableFromInline
    func scheduleFlush() {
        eventLoop.execute { self.flushOutbound() }
    }

    /// Writes the accumulated frames to the socket, or hands them to the channel (one write and flush
    /// per tick), and resumes the publishers that waited for room. Runs on the event loop: scheduled by
    /// publishers (channel writes), or as the lingering flush.
    ///
    /// After a large write (publishers are streaming) the next flush is not triggered by the next
    /// publish but runs a moment later (``Outbound/lingerDelay``), or as soon as
    /// ``Outbound/lingerBytes`` accumulated: few large socket writes, and publishers do not write (or
    /// wake the event loop) for every frame. A small write (a request, an answer) leaves nothing
    /// scheduled, so the next publish is written at once.
    ///
    /// While the channel is not writable (the socket is behind), frames stay in the outbound buffer
    /// and the flush stays marked as scheduled, so publishers schedule nothing more until
    /// ``channelBecameWritable()``.
    ///
    /// The lock is only tried: a publisher holds it for a frame (or a write to the socket) at a time,
    /// and waiting for it in the kernel would make every later unlock of that publisher a system call
    /// too. When it is busy, the flush runs again a moment later (a few tries, then it waits).
    private func flushOutbound(linger token: UInt64? = nil, attempt: Int = 0) {
        let action: FlushAction?
        if attempt < Self.lockAttempts {
            guard let attempted = out.withLockIfAvailable({ Self.takeForFlush(&$0, linger: token) }) else {
                // Busy: a publisher is at work (a lingering flush just looks again later, as when frames keep coming).
                let delay = token == nil ? Self.lockRetryDelay : Outbound.lingerDelay
                eventLoop.scheduleTask(in: delay) { self.flushOutbound(linger: token, attempt: attempt + 1) }
                return
            }
            action = attempted
        } else {
            action = out.withLock { Self.takeForFlush(&$0, linger: token) }
        }
        if let action { perform(action) }
    }

    /// How often the event loop tries the outbound lock before waiting for it, and how long apart.
    private static let lockAttempts = 16
    private static let lockRetryDelay = TimeAmount.microseconds(10)

    /// The flush's part under the lock: writes what is buffered to the socket, or takes it for the channel (nil: nothing
    /// to do now), and decides whether the next flush lingers.
    private static func takeForFlush(_ o: inout Outbound, linger token: UInt64?) -> FlushAction? {
        if let token, token != o.lingerToken { return nil }   // superseded
        o.lingerToken = 0
        guard o.mode == .connected, let channel = o.channel else {
            o.flushScheduled = false
            return nil
        }
        let frames = o.framesSinceFlush
        let buffered = o.buffer.readableBytes
        let streaming = frames > 1 || buffered >= Outbound.burstBytes
        if o.canWriteDirect {
            let wroteSinceLook = o.directWrites != o.directWritesAtLook
            if token != nil { o.directWritesAtLook = o.directWrites }
            if token != nil, buffered > 0 ? frames > o.framesAtLastLinger : wroteSinceLook {
                // Publishers are still adding frames. While they write for themselves (once `earlyFlushBytes`
                // accumulated) the timer stays out of their way and looks less often; frames that waited a whole look
                // unwritten are written by the next publish. The timer writes only once publishers stop.
                o.framesAtLastLinger = frames
                var action = FlushAction(linger: o.startLingering())
                if wroteSinceLook {
                    o.lingerLooks += 1
                    action.lingerDelay = Outbound.lingerDelay * Int64(1 << min(o.lingerLooks, 1))
                } else {
                    o.writeDue = true
                    o.lingerLooks = 0
                }
                return action
            }
            guard buffered > 0 else {
                o.flushScheduled = false
                return nil
            }
            o.lingerLooks = 0
            o.flushScheduled = false
            var action = o.writeDirect(now: .now())
            if o.canWriteDirect {
                if streaming {
                    if action == nil { action = FlushAction() }
                    action!.linger = o.startLingering()
                }
            }
            return action
        }
        guard channel.isWritable else {
            o.flushScheduled = true
            return nil
        }
        guard buffered > 0 else {
            o.flushScheduled = false
            return nil
        }
        let bytes = o.takeBuffer(allocator: channel.allocator)
        o.framesSinceFlush = 0
        var action = FlushAction(waiters: o.takeDrainWaiters())
        let tracked = o.direct != nil
        if tracked { o.channelWrites += 1 }
        action.write = (channel, bytes, tracked)
        if streaming {
            action.linger = o.startLingering()
        } else {
            o.flushScheduled = false
        }
        return action
    }

    /// The channel drained below its low watermark: send what accumulated meanwhile.
    func channelBecameWritable() {
        flushOutbound()
    }

    /// Sends everything buffered then `PING`; `waiter` gets the matching `PONG`.
    private func sendPing(waiter: UInt64?) {
        let action: FlushAction? = state.withLock { s in
            guard s.phase == .connected, s.channel != nil else {
                if let waiter, s.phase == .reconnecting, s.waiters[waiter] != nil { s.reconnectFlushes.append(waiter) }
                return nil
            }
            s.pongQueue.append(waiter)
            return out.withLock { o in
                o.buffer.withBuffer { NATSFrameEncoder.writePing(into: &$0) }
                return Self.flushNow(&o)
            }
        }
        if let action { perform(action) }
    }

    /// Answers the server's `PING` (established connections: in order with the frames written directly).
    /// False when `channel` is not the current one (the caller answers on it).
    func sendPong(on channel: any Channel) -> Bool {
        let action: FlushAction?? = out.withLock { o in
            guard o.mode == .connected, o.channel === channel else { return .none }
            o.buffer.withBuffer { NATSFrameEncoder.writePong(into: &$0) }
            return .some(Self.flushNow(&o))
        }
        guard let action else { return false }
        if let action { perform(action) }
        return true
    }

    /// Writes everything buffered now, directly or through the channel (`PING`, `PONG`); on the event loop.
    private static func flushNow(_ o: inout Outbound) -> FlushAction? {
        guard let channel = o.channel else { return nil }
        if o.canWriteDirect { return o.writeDirect(now: .now()) }
        let bytes = o.takeBuffer(allocator: channel.allocator)
        o.framesSinceFlush = 0
        let tracked = o.direct != nil
        if tracked { o.channelWrites += 1 }
        var action = FlushAction(waiters: o.takeDrainWaiters())
        action.write = (channel, bytes, tracked)
        return action
    }

    private func pingTick(_ channel: any Channel) {
        let stale: Bool? = state.withLock { s in
            guard s.channel === channel, s.phase == .connected else { return nil }
            if s.pingsOut >= options.maxPingsOut { return true }
            s.pingsOut += 1
            return false
        }
        switch stale {
        case true?:
            logger.warning("NATS server did not answer \(options.maxPingsOut) pings; reconnecting")
            channel.close(promise: nil)
        case false?:
            sendPing(waiter: nil)
        case nil:
            break
        }
    }

    /// The server answered a `PING`.
    func receivedPong() {
        let waiter: Waiter? = state.withLock { s in
            s.pingsOut = 0
            guard let entry = s.pongQueue.popFirst(), let id = entry else { return nil }
            return s.waiters.removeValue(forKey: id)
        }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume()
    }

    /// The server sent a new `INFO` (cluster changes, lame duck mode).
    func receivedInfo(_ info: NATSServerInfo) {
        state.withLock { s in
            s.info = info
            Self.learn(info.connectURLs, into: &s)
        }
        if info.lameDuckMode { logger.warning("NATS server \(info.serverID) entered lame duck mode") }
    }

    /// The server sent `-ERR` on an established connection.
    func receivedServerError(_ text: String) {
        logger.warning("NATS server error: \(text)")
    }

    /// Messages for subscription `sid` (or the request inbox), in order: the ones one read from the socket held in a row.
    ///
    /// `wireBytes` is how much of the read buffer their frames took (see ``NATSSubscription/receive(_:wireBytes:)``).
    func deliver(sid: UInt64, batch: [NATSMessage], wireBytes: Int) {
        enum Target {
            case subscription(NATSSubscription)
            case request(PendingRequest, NATSMessage)
            case requests([(PendingRequest, NATSMessage)])
            case none
        }
        var payloadBytes = 0
        for message in batch { payloadBytes += message.payload.readableBytes }
        let target: Target = state.withLock { s in
            s.statistics.inMsgs += batch.count
            s.statistics.inBytes += payloadBytes
            if let inbox = s.inbox, inbox.sid == sid {
                if batch.count == 1 {
                    guard let token = Self.token(of: batch[0].subject, prefix: inbox.prefix),
                          let request = s.requests.removeValue(forKey: token) else { return .none }
                    return .request(request, batch[0])
                }
                var answered: [(PendingRequest, NATSMessage)] = []
                for message in batch {
                    if let token = Self.token(of: message.subject, prefix: inbox.prefix), let request = s.requests.removeValue(forKey: token) {
                        answered.append((request, message))
                    }
                }
                return .requests(answered)
            }
            guard let subscription = s.subscriptions[sid] else { return .none }
            return .subscription(subscription)
        }
        switch target {
        case .none:
            break
        case .request(let request, let message):
            Self.answer(request, with: message)
        case .requests(let answered):
            for (request, message) in answered { Self.answer(request, with: message) }
        case .subscription(let subscription):
            let receipt = subscription.receive(batch, wireBytes: wireBytes)
            if receipt.dropped > 0 || receipt.reachedMax {
                state.withLock { s in
                    s.statistics.droppedMessages += receipt.dropped
                    if receipt.reachedMax, s.subscriptions[sid] === subscription { s.subscriptions[sid] = nil }
                }
            }
            if receipt.slowConsumerStarted {
                logger.warning("NATS slow consumer on \(subscription.subject) (sid \(sid)): pending limit reached, dropping messages")
            }
        }
    }

    private static func answer(_ request: PendingRequest, with message: NATSMessage) {
        if message.status == 503 {
            request.continuation.resume(throwing: NATSError(.noResponders, "no responders on the request subject"))
        } else {
            request.continuation.resume(returning: message)
        }
    }

    private static func token(of subject: String, prefix: String) -> UInt64? {
        guard subject.utf8.count > prefix.utf8.count, subject.utf8.starts(with: prefix.utf8) else { return nil }
        return UInt64(Substring(subject.utf8.dropFirst(prefix.utf8.count)))
    }

    private func finishRequest(_ token: UInt64, _ result: Result<NATSMessage, any Error>, markCancelled: Bool = false) {
        let request: PendingRequest? = state.withLock { s in
            if let request = s.requests.removeValue(forKey: token) { return request }
            if markCancelled { s.cancelledRequests.insert(token) }
            return nil
        }
        guard let request else { return }
        request.continuation.resume(with: result)
    }

    private func finishWaiter(_ id: UInt64, _ result: Result<Void, any Error>, markCancelled: Bool = false) {
        let waiter: Waiter? = state.withLock { s in
            if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
            if markCancelled { s.cancelledWaiters.insert(id) }
            return nil
        }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(with: result)
    }

    /// The TLS context (made once, from `options.tls` or the default client configuration).
    func sslContext() throws -> NIOSSLContext {
        try sslContextBox.withLock { box in
            if let context = box { return context }
            let context = try NIOSSLContext(configuration: options.tls ?? .makeClientConfiguration())
            box = context
            return context
        }
    }

    /// Bytes of frames waiting in the outbound buffer (for tests of backpressure).
    var outboundBufferedBytes: Int { out.withLock { $0.buffer.readableBytes } }

    /// Writes made straight to the socket, and how many found it full (for tests).
    var directWriteCounts: (writes: Int, paused: Int) { out.withLock { ($0.directWrites, $0.directWritesPaused) } }

    /// Publishers waiting for room (for tests of backpressure).
    var waitingPublishers: Int { out.withLock { $0.drainWaiters.count } }

    /// Whether a socket is open (for tests of teardown).
    var hasChannel: Bool { state.withLock { $0.channel != nil || $0.attempt != nil } }
}
