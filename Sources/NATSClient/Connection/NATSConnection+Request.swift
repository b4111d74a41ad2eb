import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// Request/reply over one shared inbox subscription.
extension NATSConnection {
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
}
