import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// Drain and close.
extension NATSConnection {
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
    func beginClose(_ s: inout State, error: NATSError) -> Teardown? {
        guard s.phase != .closed else { return nil }
        s.phase = .closed
        let (outbound, drainWaiters) = out.withLock { o in
            o.mode = .closed
            o.detachChannel()
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
    func perform(_ teardown: Teardown) {
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
}
