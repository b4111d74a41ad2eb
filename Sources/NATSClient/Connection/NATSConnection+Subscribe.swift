import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// Subscriptions: SUB and UNSUB.
extension NATSConnection {
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
}
