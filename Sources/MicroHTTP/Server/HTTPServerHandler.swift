import Logging
import MicroCore
import NIOCore
import NIOHTTP1

/// Serves HTTP/1-shaped exchanges on one channel — an HTTP/1.1 connection, or one HTTP/2 stream —
/// for an ``HTTPResponder``.
///
/// Requests are gathered on the event loop and answered by a task that starts at once on it and
/// prefers the channel's own event loop as its executor, so a call never hops threads. Streams are
/// fed to the handler through a backpressured async sequence: the channel is not read while the
/// handler is not reading.
final class HTTPServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        case responding
        case streaming(StreamInbound)
        /// The stream's handler finished; what is left of its request is read and dropped.
        case discardingRequest
        /// A refused request (413): up to `budget` more body bytes are read and dropped, so the caller
        /// can finish sending and read the answer, then the connection closes.
        case drainingRefused(budget: Int)
        case closed
    }

    private let responder: any HTTPResponder
    private let maxMessageSize: Int
    private let connection: TrackedConnection
    /// HTTP/1 only: the connection's read and idle timeouts (fed by `RequestStartHandler` before the decoder).
    private let timer: ConnectionTimer?
    private var timedStreaming = false
    private let logger: Logger
    private var executor: EventLoopTaskExecutor?
    private var state = State.idle
    private var busy = false
    private var queued: CircularBuffer<HTTPServerRequestPart> = []
    private var task: Task<Void, Never>?
    /// Exchanges answered so far on this channel (tells `respond` whether its task already finished).
    private var exchanges = 0
    /// How many whole requests are being answered inline, nested (pipelining); bounded by `maxInlineDepth`.
    private var inlineDepth = 0
    private var readPaused = false
    private var readPending = false
    private var isHTTP2 = false
    private var context: ChannelHandlerContext?

    /// Inline answers nested deeper than this are queued as tasks instead.
    static let maxInlineDepth = 4
    /// Parts held while a request is being answered (pipelining); more closes the connection.
    static let maxQueuedParts = 256
    /// Stream bytes written between two pauses that let the event loop serve its other channels.
    static let ioYieldBytes = 256 * 1024
    private var bytesSinceYield = 0

    /// A handler for one channel of `connection` (an HTTP/2 connection's streams share it); `timer`
    /// for an HTTP/1 connection.
    init(responder: any HTTPResponder, maxMessageSize: Int, connection: TrackedConnection, timer: ConnectionTimer?, logger: Logger) {
        self.responder = responder
        self.maxMessageSize = maxMessageSize
        self.connection = connection
        self.timer = timer
        self.logger = logger
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        executor = EventLoopTaskExecutor.of(context.eventLoop)
    }

    private func markBusy(_ value: Bool) {
        guard busy != value else { return }
        busy = value
        connection.setBusy(value)
        timer?.setAnswering(value)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .streaming(let inbound) = state {
            inbound.fail(TransportError(.connectionClosed, address: "", detail: "caller closed the stream"))
        }
        state = .closed
        task?.cancel()
        task = nil
        markBusy(false)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.trace("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Reading

    func read(context: ChannelHandlerContext) {
        if readPaused { readPending = true } else { context.read() }
    }

    private func pauseReading() { readPaused = true }

    fileprivate func resumeReading() {
        guard readPaused, let context else { return }
        readPaused = false
        if readPending { readPending = false; context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let timer {
            // The slow-request timer stops when a request is complete, or once a stream's head
            // arrived (a stream's body may legitimately take long) — even while the part waits in `queued`.
            switch part {
            case .head(let head):
                timedStreaming = responder.isStreaming(head)
                if timedStreaming { timer.requestComplete(streaming: true) }
            case .body:
                break
            case .end:
                if timedStreaming { timer.streamEnded() } else { timer.requestComplete(streaming: false) }
            }
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .closed:
            return
        case .responding:
            guard queued.count < Self.maxQueuedParts else { context.close(promise: nil); return }
            queued.append(part)
        case .idle:
            guard case .head(let head) = part else { return }   // stray parts after a rejected request
            markBusy(true)
            isHTTP2 = head.version.major == 2
            if responder.isStreaming(head) {
                startStream(head, context: context)
            } else if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > maxMessageSize {
                rejectTooLarge(declared, head: head, remaining: declared, context: context)
            } else {
                state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
            }
        case .receiving(let head, var body):
            switch part {
            case .body(var chunk):
                guard body.readableBytes + chunk.readableBytes <= maxMessageSize else {
                    let declared = head.headers.first(name: "content-length").flatMap(Int.init)
                    rejectTooLarge(body.readableBytes + chunk.readableBytes, head: head,
                                   remaining: declared.map { $0 - body.readableBytes - chunk.readableBytes }, context: context)
                    return
                }
                state = .responding   // drop the state's reference so the append does not copy
                if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
                state = .receiving(head, body)
            case .end:
                state = .responding
                respond(head, body: body, context: context)
            case .head:
                context.close(promise: nil)
            }
        case .streaming(let inbound):
            switch part {
            case .body(let chunk):
                if !inbound.receive(chunk) { pauseReading() }
            case .end:
                inbound.requestEnded()
            case .head:
                context.close(promise: nil)
            }
        case .discardingRequest:
            if case .end = part { finishExchange(keepAlive: true, context: context) }
        case .drainingRefused(let budget):
            switch part {
            case .body(let chunk) where chunk.readableBytes <= budget:
                state = .drainingRefused(budget: budget - chunk.readableBytes)
            default:
                state = .closed
                context.close(promise: nil)
            }
        }
    }

    // MARK: Whole requests

    private func respond(_ head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        let responder = self.responder
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let operation: @Sendable () async -> Void = {
            let response = await responder.respond(head, body: body)
            if loop.inEventLoop {
                bound.value.finishWhole(head, response)
            } else {
                loop.execute { bound.value.finishWhole(head, response) }
            }
        }
        // The task starts right here on the event loop: a handler that does not suspend is answered
        // before `channelRead` returns, with no job queued. Pipelined requests answered that way nest,
        // so past a few levels the task is queued instead.
        let exchange = exchanges
        let started: Task<Void, Never>
        if inlineDepth < Self.maxInlineDepth {
            inlineDepth += 1
            defer { inlineDepth -= 1 }
            started = Task.immediate(executorPreference: executor, operation: operation)
        } else {
            started = Task(executorPreference: executor, operation: operation)
        }
        if exchanges == exchange { task = started }   // not answered yet
    }

    private func finishWhole(_ head: HTTPRequestHead, _ response: HTTPFullResponse) {
        task = nil
        exchanges &+= 1
        guard case .responding = state, let context else { return }
        let keepAlive = head.isKeepAlive && !connection.tracker.isDraining
        write(response, head: head, keepAlive: keepAlive, context: context)
        finishExchange(keepAlive: keepAlive, context: context)
    }

    /// How much of a refused request's remaining body is read before closing (as Go's net/http does).
    static let refusedDrainLimit = 256 * 1024

    private func rejectTooLarge(_ size: Int, head: HTTPRequestHead, remaining: Int?, context: ChannelHandlerContext) {
        let error = MicroError.tooLarge("go.micro.server", "request of \(size) bytes exceeds the limit of \(maxMessageSize) bytes")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Micro-Error", value: error.json)
        write(HTTPFullResponse(status: .payloadTooLarge, headers: headers, body: ByteBuffer(string: error.json)),
              head: head, keepAlive: false, context: context)
        // Read a little more so a caller still uploading sees the 413 rather than a reset; a large
        // declared remainder is not waited for.
        if !isHTTP2, (remaining ?? 0) <= Self.refusedDrainLimit {
            markBusy(false)
            state = .drainingRefused(budget: Self.refusedDrainLimit)
            return
        }
        finishExchange(keepAlive: false, context: context)
    }

    private func write(_ response: HTTPFullResponse, head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.add(name: "Content-Length", value: String(response.body.readableBytes))
        if !keepAlive && !isHTTP2 { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if response.body.readableBytes > 0 && head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Ends one exchange: closes, or goes back to idle and serves what was queued meanwhile.
    private func finishExchange(keepAlive: Bool, context: ChannelHandlerContext) {
        markBusy(false)
        guard keepAlive, !connection.tracker.isDraining else {
            state = .closed
            if isHTTP2 { return }   // the stream ends with its response
            context.close(promise: nil)
            return
        }
        state = .idle
        resumeReading()
        // Serve what arrived meanwhile (pipelined requests) until a request is being answered again.
        while !queued.isEmpty {
            if case .responding = state { break }
            handle(queued.removeFirst(), context: context)
        }
    }

    // MARK: Streams

    private func startStream(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: head.headers.first(name: "Content-Type") ?? "application/json")
        headers.add(name: "Micro-Stream", value: "true")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)

        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let inbound = StreamInbound(maxMessageSize: maxMessageSize) {
            loop.execute { bound.value.handler.resumeReading() }
        }
        state = .streaming(inbound)
        let reader = inbound.reader
        let writer = MessageWriter { message in
            let frame = StreamFrame.encode(.message, message)
            try await loop.flatSubmit { () -> EventLoopFuture<Void> in
                let (handler, context) = bound.value
                guard context.channel.isActive else {
                    return loop.makeFailedFuture(TransportError(.connectionClosed, address: "", detail: "caller went away"))
                }
                let written = context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(frame))))
                handler.bytesSinceYield += frame.readableBytes
                guard handler.bytesSinceYield >= Self.ioYieldBytes else { return written }
                // While the socket takes every write at once, the writer's tasks would keep the event loop
                // from ever reaching its selector, starving every other connection on it for the whole
                // stream (NIO runs tasks until none are left). Every so often, wait for a timer instead:
                // the loop's task queue empties, it serves I/O, then the timer lets the writer go on.
                handler.bytesSinceYield = 0
                return written.flatMap { loop.scheduleTask(in: .microseconds(50)) {}.futureResult }
            }.get()
        }
        let responder = self.responder
        task = Task(executorPreference: executor) {
            let error = await responder.respondStreaming(head, inbound: reader, outbound: writer)
            loop.execute { bound.value.handler.finishStream(error, context: bound.value.context) }
        }
    }

    private func finishStream(_ error: MicroError?, context: ChannelHandlerContext) {
        task = nil
        guard case .streaming(let inbound) = state, context.channel.isActive else { return }
        let terminal = error.map { StreamFrame.encode(.error, ByteBuffer(string: $0.json)) } ?? StreamFrame.encode(.end, ByteBuffer())
        context.write(wrapOutboundOut(.body(.byteBuffer(terminal))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        inbound.fail(CancellationError())
        resumeReading()
        if inbound.hasRequestEnded {
            finishExchange(keepAlive: true, context: context)
        } else {
            state = .discardingRequest
        }
    }
}

/// A stream's incoming side: bytes from the channel cut into frames and handed to the handler's
/// reader through a backpressured sequence. Touched on the event loop only, except `reader`.
final class StreamInbound {
    private var decoder: StreamFrameDecoder
    private let source: NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>.Source
    let reader: MessageReader
    private(set) var hasRequestEnded = false
    private var finished = false

    init(maxMessageSize: Int, onDemand: @escaping @Sendable () -> Void) {
        decoder = StreamFrameDecoder(maxMessageSize: maxMessageSize)
        let made = NIOThrowingAsyncSequenceProducer.makeSequence(
            elementType: ByteBuffer.self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 2, highWatermark: 16),
            finishOnDeinit: true,
            delegate: Demand(onDemand: onDemand))
        source = made.source
        let iterator = IteratorBox(made.sequence.makeAsyncIterator())
        reader = MessageReader { try await iterator.next() }
    }

    /// Takes body bytes; false when the reader is behind and the channel should pause.
    func receive(_ chunk: ByteBuffer) -> Bool {
        guard !finished else { return true }
        decoder.append(chunk)
        var more = true
        do {
            while let frame = try decoder.next() {
                switch frame.kind {
                case .message:
                    if case .stopProducing = source.yield(frame.payload) { more = false }
                case .end, .error:
                    finish()
                    return true
                }
            }
        } catch {
            fail(error)
        }
        return more
    }

    func requestEnded() {
        hasRequestEnded = true
        if decoder.pendingBytes > 0 {
            fail(TransportError(.protocolViolation, address: "", detail: "stream ended inside a frame"))
        } else {
            finish()
        }
    }

    func finish() {
        guard !finished else { return }
        finished = true
        source.finish()
    }

    func fail(_ error: any Error) {
        guard !finished else { return }
        finished = true
        source.finish(error)
    }

    struct Demand: NIOAsyncSequenceProducerDelegate {
        let onDemand: @Sendable () -> Void
        func produceMore() { onDemand() }
        func didTerminate() {}
    }

    /// Safety: one reader at a time (the stream's handler).
    final class IteratorBox: @unchecked Sendable {
        var iterator: NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>.AsyncIterator
        init(_ iterator: NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>.AsyncIterator) {
            self.iterator = iterator
        }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }
}
