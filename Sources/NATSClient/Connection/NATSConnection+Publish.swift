import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// Publishing: encoding frames into the outbound buffer, waiting for room, and flushing to the server.
extension NATSConnection {
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
    package func publishNow(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil, replyTo: String? = nil) throws {
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
    func enqueue(_ subject: String, reply: NATSFrameEncoder.Reply, headers: NATSHeaders?, headerSize: Int,
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
    func waitForRoom() async throws {
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
}
