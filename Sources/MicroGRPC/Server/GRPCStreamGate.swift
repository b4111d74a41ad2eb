import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2

/// Server side, first on each HTTP/2 stream: holds the call's response writer back while the stream
/// takes no more, so a handler that writes faster than its caller reads waits instead of queueing.
///
/// Two things let a fast handler run far ahead of a caller that grants no HTTP/2 window, and neither
/// can be configured from outside grpc-swift's transport:
/// - grpc-swift's response writer (a `NIOAsyncWriter` over the stream channel) returns from a write as
///   soon as the write is queued for the event loop, and learns that the stream became unwritable only
///   once the loop has run the writes queued before;
/// - the stream channel turns unwritable at 8 KiB of payload waiting for the window, whatever the
///   number of messages: 8 KiB of small messages is hundreds of DATA frames, each held with its buffers.
///
/// So the writer posts a fence every ``fenceMessages`` messages or ``fenceBytes`` bytes: a task on the
/// stream's event loop, which runs after the writes queued before it and passes once the stream is
/// writable and fewer than ``maxOutstandingFrames`` of its DATA frames wait to be written to the socket
/// (or the stream closed). At each fence the writer waits for the one before to pass, so the loop works
/// through one fence's messages while the handler produces the next. From a stream's first fence on,
/// the gate follows its DATA frames out (every ``markInterval``-th carries a promise; frames leave in
/// order). A stream then holds at most about three fences' worth of messages (and 8 KiB plus two
/// fences' bytes) beyond what the caller's window lets out. Unary calls and short streams never reach a
/// fence and cost nothing.
final class GRPCStreamGate: ChannelDuplexHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// Messages written between fences.
    static let fenceMessages = 64
    /// Bytes written between fences (a larger message makes a fence on its own).
    static let fenceBytes = 32 << 10
    /// DATA frames that may wait to be written to the socket when a fence passes.
    static let maxOutstandingFrames = 64
    /// Every this many DATA frames one carries a promise that tells the gate they went out.
    static let markInterval = 8

    private struct State {
        var writable = true
        var closed = false
        var unfencedMessages = 0
        var unfencedBytes = 0
        /// Whether DATA frames are followed (from the first fence on).
        var tracking = false
        /// DATA frames written since tracking began, and how many of them are known to have gone out.
        var framesWritten = 0
        var framesDone = 0
        /// The last fence posted.
        var lastFence: UInt64 = 0
        /// Fences that passed before their writer waited for them.
        var passed: Set<UInt64> = []
        /// Fences the event loop reached while the stream took no more.
        var armed: Set<UInt64> = []
        /// Writers waiting for a fence, by fence.
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        /// Fences whose writer was cancelled before it began to wait.
        var cancelled: Set<UInt64> = []

        var open: Bool { closed || writable && framesWritten - framesDone < GRPCStreamGate.maxOutstandingFrames }

        /// Lets fence `id` pass: resumes its writer, or records it for the writer to find.
        mutating func pass(_ id: UInt64) -> CheckedContinuation<Void, any Error>? {
            if let waiter = waiters.removeValue(forKey: id) { return waiter }
            passed.insert(id)
            return nil
        }
    }

    private let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    // MARK: The writer's side

    /// Counts a message just written; past a fence's worth since the last fence, posts a fence and
    /// returns once the fence before it passed (or the stream closed). Throws `CancellationError` when
    /// the writing task is cancelled while it waits.
    func wrote(bytes: Int) async throws {
        let fences = state.withLockedValue { s -> (post: UInt64, previous: UInt64)? in
            s.unfencedMessages += 1
            s.unfencedBytes += bytes
            guard s.unfencedMessages >= Self.fenceMessages || s.unfencedBytes >= Self.fenceBytes else { return nil }
            s.unfencedMessages = 0
            s.unfencedBytes = 0
            s.lastFence += 1
            return (s.lastFence, s.lastFence - 1)
        }
        guard let fences else { return }
        eventLoop.execute { self.reached(fences.post) }
        if fences.previous > 0 { try await waitFor(fences.previous) }
    }

    private func waitFor(_ id: UInt64) async throws {
        let done = state.withLockedValue { s in s.passed.remove(id) != nil || s.closed }
        if done { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLockedValue { s -> Result<Bool, CancellationError> in
                    if s.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if s.passed.remove(id) != nil || s.closed { return .success(true) }
                    s.waiters[id] = continuation
                    return .success(false)
                }
                switch outcome {
                case .failure(let error): continuation.resume(throwing: error)
                case .success(true): continuation.resume()
                case .success(false): break  // `reached` or `update` resumes it
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { s -> CheckedContinuation<Void, any Error>? in
                s.armed.remove(id)
                guard let waiter = s.waiters.removeValue(forKey: id) else {
                    s.cancelled.insert(id)
                    return nil
                }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
        state.withLockedValue { _ = $0.cancelled.remove(id) }
    }

    /// On the event loop, after the writes queued before fence `id`.
    private func reached(_ id: UInt64) {
        let ready = state.withLockedValue { s -> CheckedContinuation<Void, any Error>? in
            s.tracking = true
            guard s.open else {
                s.armed.insert(id)
                return nil
            }
            return s.pass(id)
        }
        ready?.resume()
    }

    /// Applies a change on the event loop and lets armed fences pass when the stream takes more.
    private func update(_ change: (inout State) -> Void) {
        let ready = state.withLockedValue { s -> [CheckedContinuation<Void, any Error>] in
            change(&s)
            guard s.open, !s.armed.isEmpty else { return [] }
            defer { s.armed = [] }
            return s.armed.compactMap { s.pass($0) }
        }
        for waiter in ready { waiter.resume() }
    }

    private func close() {
        let waiting = state.withLockedValue { s -> [CheckedContinuation<Void, any Error>] in
            s.closed = true
            defer { s.waiters = [:]; s.armed = [] }
            return Array(s.waiters.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    // MARK: The stream's side

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .data = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let mark = state.withLockedValue { s -> Int? in
            guard s.tracking else { return nil }
            s.framesWritten += 1
            return s.framesWritten % Self.markInterval == 0 ? s.framesWritten : nil
        }
        guard let mark else {
            context.write(data, promise: promise)
            return
        }
        let marked = promise ?? context.eventLoop.makePromise()
        marked.futureResult.whenComplete { _ in
            // Frames leave in order: every frame up to this one went out (or was dropped with the stream).
            self.update { $0.framesDone = max($0.framesDone, mark) }
        }
        context.write(data, promise: marked)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        update { $0.writable = writable }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        close()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        update { $0.writable = writable }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }
}
