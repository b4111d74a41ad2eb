import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// What the channel reports: keep-alive pings, INFO, server errors, messages and request answers.
extension NATSConnection {
    func pingTick(_ channel: any Channel) {
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

    func finishRequest(_ token: UInt64, _ result: Result<NATSMessage, any Error>, markCancelled: Bool = false) {
        let request: PendingRequest? = state.withLock { s in
            if let request = s.requests.removeValue(forKey: token) { return request }
            if markCancelled { s.cancelledRequests.insert(token) }
            return nil
        }
        guard let request else { return }
        request.continuation.resume(with: result)
    }

    func finishWaiter(_ id: UInt64, _ result: Result<Void, any Error>, markCancelled: Bool = false) {
        let waiter: Waiter? = state.withLock { s in
            if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
            if markCancelled { s.cancelledWaiters.insert(id) }
            return nil
        }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(with: result)
    }

    /// The TLS context (made once, from `options.tls`, else `options.tlsWhenRequired`, else the default client configuration).
    func sslContext() throws -> NIOSSLContext {
        try sslContextBox.withLock { box in
            if let context = box { return context }
            let context = try NIOSSLContext(configuration: options.tls ?? options.tlsWhenRequired ?? .makeClientConfiguration())
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
