import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

/// A connection to a NATS server (or cluster): publish, subscribe, request, with reconnection.
///
/// All protocol work runs on one event loop. ``publish(_:payload:headers:replyTo:)`` is
/// synchronous and callable from any thread: it encodes the frame into a shared outbound buffer
/// under a lock and the event loop writes everything accumulated in one flush per tick. While
/// reconnecting, that buffer keeps publishes (up to ``NATSOptions/reconnectBufferSize``) and is
/// sent, after the subscriptions are restored, once a server is reached again.
public final class NATSConnection: Sendable {
    /// The version sent in `CONNECT`.
    static let clientVersion = "0.1.0"

    let options: NATSOptions
    let logger: Logger
    let eventLoop: any EventLoop
    private let state: Mutex<State>
    private let sslContextBox = Mutex<NIOSSLContext?>(nil)

    private enum Phase: Sendable { case connecting, connected, reconnecting, closed }

    private struct PendingRequest: Sendable {
        var continuation: CheckedContinuation<NATSMessage, any Error>
        /// The connection epoch the request was sent on (the next one when sent while reconnecting).
        var epoch: UInt64
        var timeout: Scheduled<Void>?
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
        /// Frames not yet handed to the channel (publishes while reconnecting, or until the next flush).
        var outbound = ByteBuffer()
        var flushScheduled = false
        var info = NATSServerInfo()
        var servers: [NATSServerAddress]
        var serverIndex = 0
        var nextSID: UInt64 = 0
        var subscriptions: [UInt64: NATSSubscription] = [:]
        var inbox: Inbox?
        var requests: [UInt64: PendingRequest] = [:]
        var cancelledRequests: Set<UInt64> = []
        var nextToken: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        /// One entry per `PING` on the current channel: the flush waiting for its `PONG`, or nil for a keep-alive.
        var pongQueue = CircularBuffer<UInt64?>()
        /// Flushes asked for while reconnecting, sent once connected.
        var reconnectFlushes: [UInt64] = []
        var pingsOut = 0
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

    /// What must happen outside the lock once the connection closed.
    private struct Teardown: Sendable {
        var channel: (any Channel)?
        var outbound: ByteBuffer
        var tasks: [Scheduled<Void>] = []
        var pingTask: RepeatedTask?
        var requests: [PendingRequest] = []
        var waiters: [Waiter] = []
        var subscriptions: [NATSSubscription] = []
        var attempt: EventLoopFuture<Void>?
        var error: NATSError
    }

    private init(options: NATSOptions, logger: Logger, eventLoop: any EventLoop, servers: [NATSServerAddress]) {
        self.options = options
        self.logger = logger
        self.eventLoop = eventLoop
        self.state = Mutex(State(servers: servers))
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
    public var statistics: NATSStatistics { state.withLock { $0.statistics } }

    /// A new unique inbox subject, `<inboxPrefix>.<nuid>`.
    public func newInbox() -> String {
        let id = state.withLock { $0.nuid.next() }
        return "\(options.inboxPrefix).\(id)"
    }

    // MARK: Publish

    /// Publishes a message; returns at once (the frame is written on the next event-loop tick, or buffered while reconnecting).
    ///
    /// Throws ``NATSError/Code/badSubject``, ``NATSError/Code/badHeader``, ``NATSError/Code/maxPayloadExceeded``,
    /// ``NATSError/Code/reconnectBufferExceeded`` (nothing was buffered), ``NATSError/Code/outboundBufferExceeded``
    /// (the socket is far behind) or ``NATSError/Code/closed``.
    public func publish(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, replyTo: String? = nil) throws {
        try NATSSubject.validatePublish(subject)
        if let replyTo { try NATSSubject.validatePublish(replyTo) }
        var headerSize = 0
        if let headers {
            try headers.validate()
            headerSize = headers.encodedLength
        }
        let size = payload.readableBytes + headerSize
        let limit = options.reconnectBufferSize
        let outboundLimit = options.maxOutboundBytes
        let schedule = try state.withLock { s throws -> Bool in
            switch s.phase {
            case .closed: throw NATSError(.closed, "publish on a closed connection")
            case .connecting, .connected, .reconnecting: break
            }
            guard size <= s.info.maxPayload else {
                throw NATSError(.maxPayloadExceeded, "message of \(size) bytes exceeds the server's max_payload of \(s.info.maxPayload)")
            }
            let mark = s.outbound.writerIndex
            NATSFrameEncoder.writePublish(subject, replyTo: replyTo, headers: headers, headerSize: headerSize, payload: payload, into: &s.outbound)
            if s.phase == .reconnecting, s.outbound.readableBytes > limit {
                s.outbound.moveWriterIndex(to: mark)
                throw NATSError(.reconnectBufferExceeded, "\(limit) bytes already buffered while reconnecting")
            }
            if s.outbound.readableBytes > outboundLimit, s.phase != .reconnecting {
                s.outbound.moveWriterIndex(to: mark)
                throw NATSError(.outboundBufferExceeded, "\(outboundLimit) bytes already wait for the socket")
            }
            s.statistics.outMsgs += 1
            s.statistics.outBytes += payload.readableBytes
            guard s.phase == .connected, !s.flushScheduled else { return false }
            s.flushScheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
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
        try NATSSubject.validateSubscribe(subject)
        if let queue { try NATSSubject.validateQueue(queue) }
        let (subscription, schedule) = try state.withLock { s throws -> (NATSSubscription, Bool) in
            guard s.phase != .closed else { throw NATSError(.closed, "subscribe on a closed connection") }
            guard !s.draining else { throw NATSError(.draining, "subscribe on a draining connection") }
            s.nextSID += 1
            let subscription = NATSSubscription(
                subject: subject, queue: queue, sid: s.nextSID, connection: self,
                pendingMessagesLimit: options.pendingMessagesLimit, pendingBytesLimit: options.pendingBytesLimit)
            s.subscriptions[s.nextSID] = subscription
            guard s.phase == .connected else { return (subscription, false) }
            NATSFrameEncoder.writeSubscribe(subject, queue: queue, sid: s.nextSID, into: &s.outbound)
            return (subscription, Self.scheduleFlush(&s))
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
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
            NATSFrameEncoder.writeUnsubscribe(sid: sid, max: max, into: &s.outbound)
            return (finish, Self.scheduleFlush(&s))
        }
        if finish { subscription.finish() }
        if schedule { eventLoop.execute { self.flushOutbound() } }
    }

    // MARK: Request

    /// Publishes a request and waits for the first answer, over one shared inbox subscription (`<inboxPrefix>.<nuid>.*`).
    ///
    /// Throws ``NATSError/Code/noResponders`` when nobody listens on `subject`, ``NATSError/Code/timeout``,
    /// or ``NATSError/Code/connectionClosed`` when the connection it went out on dropped.
    public func request(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try NATSSubject.validatePublish(subject)
        let (token, replyTo, schedule) = try state.withLock { s throws -> (UInt64, String, Bool) in
            guard s.phase != .closed else { throw NATSError(.closed, "request on a closed connection") }
            guard !s.draining else { throw NATSError(.draining, "request on a draining connection") }
            var schedule = false
            if s.inbox == nil {
                s.nextSID += 1
                let inbox = Inbox(prefix: "\(options.inboxPrefix).\(s.nuid.next()).", sid: s.nextSID)
                s.inbox = inbox
                if s.phase == .connected {
                    NATSFrameEncoder.writeSubscribe(inbox.prefix + "*", queue: nil, sid: inbox.sid, into: &s.outbound)
                    schedule = Self.scheduleFlush(&s)
                }
            }
            s.nextToken += 1
            return (s.nextToken, s.inbox!.prefix + String(s.nextToken), schedule)
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<NATSMessage, any Error>) in
                let refused: (any Error)? = state.withLock { s in
                    if s.cancelledRequests.remove(token) != nil { return CancellationError() }
                    guard s.phase != .closed else { return NATSError(.closed, "request on a closed connection") }
                    let epoch = s.phase == .reconnecting ? s.epoch + 1 : s.epoch
                    s.requests[token] = PendingRequest(continuation: continuation, epoch: epoch)
                    return nil
                }
                if let refused {
                    continuation.resume(throwing: refused)
                    return
                }
                let task = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                    self.finishRequest(token, .failure(NATSError(.timeout, "no answer on \(subject) within \(timeout)")))
                }
                let keep = state.withLock { s in
                    guard s.requests[token] != nil else { return false }
                    s.requests[token]!.timeout = task
                    return true
                }
                if !keep { task.cancel() }
                do {
                    try publish(subject, payload: payload, headers: headers, replyTo: replyTo)
                } catch {
                    finishRequest(token, .failure(error))
                }
            }
        } onCancel: {
            finishRequest(token, .failure(CancellationError()), markCancelled: true)
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
            for subscription in subscriptions { NATSFrameEncoder.writeUnsubscribe(sid: subscription.sid, max: nil, into: &s.outbound) }
            if let inbox = s.inbox { NATSFrameEncoder.writeUnsubscribe(sid: inbox.sid, max: nil, into: &s.outbound) }
            return (subscriptions, Self.scheduleFlush(&s))
        }
        guard let (subscriptions, schedule) = drained else {
            await close()
            return
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
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
            Self.beginClose(&s, error: NATSError(.closed, "connection closed"))
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
    private static func beginClose(_ s: inout State, error: NATSError) -> Teardown? {
        guard s.phase != .closed else { return nil }
        s.phase = .closed
        var teardown = Teardown(channel: s.channel, outbound: s.outbound, error: error)
        s.channel = nil
        s.outbound = ByteBuffer()
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
            request.timeout?.cancel()
            request.continuation.resume(throwing: teardown.error)
        }
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
        let teardown = state.withLock { s in Self.beginClose(&s, error: NATSError(.closed, "connect failed")) }
        if let teardown { perform(teardown) }
        if let auth = errors.first(where: { $0.code == .authorizationViolation }) { throw auth }
        if errors.count == 1, errors[0].code == .connectFailed { throw errors[0] }
        throw NATSError(.connectFailed, errors.map(\.description).joined(separator: "; "))
    }

    /// One attempt: TCP connect, handshake, then installs the channel as the current one.
    private func attemptConnection(to server: NATSServerAddress) -> EventLoopFuture<Void> {
        let handshake = eventLoop.makePromise(of: NATSServerInfo.self)
        let logger = self.logger
        let connected = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(options.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NATSChannelHandler(connection: self, server: server, handshake: handshake, logger: logger))
                }
            }
            .connect(host: server.host, port: server.port)
        connected.whenFailure { error in
            handshake.fail(NATSError(.connectFailed, "\(server): \(error)"))
        }
        return connected.flatMapError { error in
            self.eventLoop.makeFailedFuture((error as? NATSError) ?? NATSError(.connectFailed, "\(server): \(error)"))
        }.flatMap { channel in
            handshake.futureResult.flatMapThrowing { info in
                try self.install(channel: channel, info: info, server: server)
            }.flatMapError { error in
                channel.close(promise: nil)
                return channel.closeFuture.flatMapThrowing { throw error }
            }
        }
    }

    /// Makes a freshly handshaken channel the current one: restores subscriptions, sends what was buffered, starts pinging.
    private func install(channel: any Channel, info: NATSServerInfo, server: NATSServerAddress) throws {
        eventLoop.preconditionInEventLoop()
        var restore = channel.allocator.buffer(capacity: 256)
        var trailer = channel.allocator.buffer(capacity: 0)
        let interval = TimeAmount(options.pingInterval)
        let result: (outbound: ByteBuffer, reconnected: Bool)? = state.withLock { s in
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
            s.flushScheduled = false
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
            let outbound = s.outbound
            s.outbound = ByteBuffer()
            s.pingTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                self.pingTick(channel)
            }
            return (outbound, reconnected)
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
        channel.flush()
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
        let next: Next? = state.withLock { s in
            guard s.channel === channel else { return nil }
            s.channel = nil
            s.flushScheduled = false
            s.pingTask?.cancel()
            s.pingTask = nil
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
            if options.reconnect, !s.draining {
                s.phase = .reconnecting
                if scheduleReconnect(&s) { return .reconnect(failedRequests, failedWaiters) }
            }
            return Self.beginClose(&s, error: lost).map { .close($0, failedRequests, failedWaiters) }
        }
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
            request.timeout?.cancel()
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
                return Self.beginClose(&s, error: NATSError(.connectionClosed, "gave up reconnecting after \(s.failedAttempts) attempts: \(error)"))
            }
            if let teardown {
                self.logger.error("NATS gave up reconnecting: \(teardown.error.detail)")
                self.perform(teardown)
            }
        }
    }

    // MARK: Event loop side

    /// Marks a flush as scheduled; true when the caller must schedule it.
    private static func scheduleFlush(_ s: inout State) -> Bool {
        guard s.phase == .connected, !s.flushScheduled else { return false }
        s.flushScheduled = true
        return true
    }

    /// Hands the accumulated frames to the channel (one write and flush per tick).
    ///
    /// While the channel is not writable (the socket is behind), frames stay in the outbound buffer
    /// and the flush stays marked as scheduled, so publishers schedule nothing more until
    /// ``channelBecameWritable()``.
    private func flushOutbound() {
        let work: (any Channel, ByteBuffer)? = state.withLock { s in
            guard s.phase == .connected, let channel = s.channel else {
                s.flushScheduled = false
                return nil
            }
            guard channel.isWritable else {
                s.flushScheduled = true
                return nil
            }
            s.flushScheduled = false
            guard s.outbound.readableBytes > 0 else { return nil }
            return (channel, Self.takeOutbound(&s, allocator: channel.allocator))
        }
        guard let (channel, bytes) = work else { return }
        channel.writeAndFlush(bytes, promise: nil)
    }

    /// The channel drained below its low watermark: send what accumulated meanwhile.
    func channelBecameWritable() {
        flushOutbound()
    }

    private static func takeOutbound(_ s: inout State, allocator: ByteBufferAllocator) -> ByteBuffer {
        let bytes = s.outbound
        s.outbound = allocator.buffer(capacity: min(max(bytes.readableBytes, 512), 64 * 1024))
        return bytes
    }

    /// Sends everything buffered then `PING`; `waiter` gets the matching `PONG`.
    private func sendPing(waiter: UInt64?) {
        let work: (any Channel, ByteBuffer)? = state.withLock { s in
            guard s.phase == .connected, let channel = s.channel else {
                if let waiter, s.phase == .reconnecting, s.waiters[waiter] != nil { s.reconnectFlushes.append(waiter) }
                return nil
            }
            s.pongQueue.append(waiter)
            var bytes = Self.takeOutbound(&s, allocator: channel.allocator)
            NATSFrameEncoder.writePing(into: &bytes)
            return (channel, bytes)
        }
        guard let (channel, bytes) = work else { return }
        channel.writeAndFlush(bytes, promise: nil)
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

    /// A message for subscription `sid` (or the request inbox).
    func deliver(sid: UInt64, message: NATSMessage) {
        enum Target { case subscription(NATSSubscription), request(PendingRequest), none }
        let target: Target = state.withLock { s in
            s.statistics.inMsgs += 1
            s.statistics.inBytes += message.payload.readableBytes
            if let inbox = s.inbox, inbox.sid == sid {
                guard let token = Self.token(of: message.subject, prefix: inbox.prefix),
                      let request = s.requests.removeValue(forKey: token) else { return .none }
                return .request(request)
            }
            guard let subscription = s.subscriptions[sid] else { return .none }
            return .subscription(subscription)
        }
        switch target {
        case .none:
            break
        case .request(let request):
            request.timeout?.cancel()
            if message.status == 503 {
                request.continuation.resume(throwing: NATSError(.noResponders, "no responders on the request subject"))
            } else {
                request.continuation.resume(returning: message)
            }
        case .subscription(let subscription):
            switch subscription.receive(message) {
            case .delivered, .ignored:
                break
            case .dropped(let first):
                state.withLock { $0.statistics.droppedMessages += 1 }
                if first {
                    logger.warning("NATS slow consumer on \(subscription.subject) (sid \(sid)): pending limit reached, dropping messages")
                }
            case .reachedMax:
                state.withLock { s in
                    if s.subscriptions[sid] === subscription { s.subscriptions[sid] = nil }
                }
            }
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
        request.timeout?.cancel()
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

    /// Whether a socket is open (for tests of teardown).
    var hasChannel: Bool { state.withLock { $0.channel != nil || $0.attempt != nil } }
}
