import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// Connecting, the handshake, and reconnecting with backoff.
extension NATSConnection {
    func connectFirst(_ servers: [NATSServerAddress]) async throws {
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
    static func learn(_ urls: [String], into s: inout State) {
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
                o.detachChannel()
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
}
