import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL

// The outbound flush: direct writes from publishers, the lingering timer, channel writes, PING and PONG.
extension NATSConnection {
    /// Appends control frames to the outbound buffer (called while connected, inside `state`'s lock);
    /// true when the caller must schedule the flush.
    func writeControl(_ write: (inout ByteBuffer) -> Void) -> Bool {
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
    func performDeferred(_ action: FlushAction) {
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
    func perform(_ action: FlushAction) {
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
    func channelWriteCompleted(_ channel: any Channel, attempt: Int = 0) {
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
    func sendPing(waiter: UInt64?) {
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
}
