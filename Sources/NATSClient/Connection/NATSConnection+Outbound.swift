import NIOCore

// The publish path's state and what a publish or flush asks to be done outside its lock.
extension NATSConnection {
    /// A publisher waiting for the outbound buffer to drain.
    struct DrainWaiter: Sendable {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// What must happen outside the outbound lock after frames were added or flushed.
    struct FlushAction: Sendable {
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
    struct Outbound: ~Copyable, Sendable {
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
        ///
        /// The common case of a publisher in a loop (lingering, below ``earlyFlushBytes``, nothing due) is decided
        /// inline, without a call: about 3% of a 1 KiB publish's client CPU.
        @inline(__always)
        mutating func flushNeeded() -> FlushAction? {
            if flushScheduled, !writeDue, buffer.readableBytes < earlyFlushBytes, mode == .connected, canWriteDirect { return nil }
            return decideFlush()
        }

        /// ``flushNeeded()`` beyond its inline case.
        @inline(never)
        mutating func decideFlush() -> FlushAction? {
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

        /// Forgets the channel and its socket (closed or lost): nothing is flushing, lingering or written directly any more.
        mutating func detachChannel() {
            channel = nil
            flushScheduled = false
            lingerToken = 0
            writeDue = false
            dropSpares()
            direct = nil
            directPaused = false
            channelWrites = 0
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
}
