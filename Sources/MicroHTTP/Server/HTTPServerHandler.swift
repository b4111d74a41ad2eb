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
        /// Between requests while the caller is not reading its answers (the outbound buffer is over
        /// its high-water mark): what already arrived waits in `queued`, nothing more is read.
        case backedUp
        /// A framed stream (one chunked body each way) being served.
        case streaming(StreamInbound)
        /// go-micro's form: the request that opens a stream is being read (its body is not a message).
        case openingStream(HTTPRequestHead, StreamPlan, received: Int)
        /// go-micro's form: the stream is served and each request on the connection is one of its messages.
        case messageStream(MessageStream)
        /// The stream's handler finished (or a message was refused); what is left of the request is read and dropped.
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
    /// HTTP/2 streams: a request must arrive within this long of its head (the stream is reset otherwise).
    private let requestReadTimeout: TimeAmount
    private var readDeadline: Scheduled<Void>?
    /// The stream being served has carried a message either way (or the caller's end): until then
    /// it is timed like a request being read, so a stream nobody uses cannot hold the connection.
    private var streamEstablished = false
    /// The stream's request allows the connection to serve on afterwards (no `Connection: close`).
    private var streamKeepAlive = true
    private var timedStreaming = false
    private let logger: Logger
    /// The identity of the connection's verified client certificate (mutual TLS), nil without one.
    private let peerIdentity: String?
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
    private var outboundFull = false
    private var isHTTP2 = false
    private var context: ChannelHandlerContext?
    /// The stream being served: its plan, a count that tells it from earlier streams on this channel
    /// (a late write of an ended stream must not leak into the next), and its deadline's timer.
    private var streamPlan: StreamPlan?
    private var streamGeneration = 0
    private var streamDeadline: Scheduled<Void>?
    /// A go-micro stream's answers carry its opener's headers, as go-micro's server echoes them.
    private var streamAnswerHeaders = HTTPHeaders()

    /// Inline answers nested deeper than this are queued as tasks instead.
    static let maxInlineDepth = 4
    /// Parts held while a request is being answered (pipelining); more closes the connection.
    static let maxQueuedParts = 256
    /// Parts held while the caller's answers back up (bounded anyway by what was read before reading stopped).
    static let maxBackedUpParts = 4096

    /// A handler for one channel of `connection` (an HTTP/2 connection's streams share it); `timer`
    /// for an HTTP/1 connection.
    init(responder: any HTTPResponder, maxMessageSize: Int, connection: TrackedConnection, timer: ConnectionTimer?,
         requestReadTimeout: TimeAmount, peerIdentity: String?, logger: Logger) {
        self.requestReadTimeout = requestReadTimeout
        self.peerIdentity = peerIdentity
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
        let gone = TransportError(.connectionClosed, address: "", detail: "caller closed the stream")
        switch state {
        case .streaming(let inbound): inbound.fail(gone)
        case .messageStream(let stream): stream.inbound.fail(gone)
        default: break
        }
        streamEnded()
        readDeadline?.cancel()
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
        if readPaused || outboundFull { readPending = true } else { context.read() }
    }

    private func pauseReading() { readPaused = true }

    fileprivate func resumeReading() {
        guard readPaused, let context else { return }
        readPaused = false
        readIfPending(context)
    }

    private func readIfPending(_ context: ChannelHandlerContext) {
        guard readPending, !readPaused, !outboundFull else { return }
        readPending = false
        context.read()
    }

    /// A caller that sends requests without reading the answers fills the socket, then NIO's
    /// outbound buffer: past its high-water mark nothing more is read until it drains, so the
    /// answers waiting for such a caller stay bounded.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        outboundFull = !context.channel.isWritable
        if !outboundFull, case .backedUp = state {
            state = .idle
            serveQueued(context)
        }
        readIfPending(context)
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let timer {
            // The slow-request timer stops when a request is complete — even while the part waits in
            // `queued` — or once a framed stream is established (its body may legitimately take long).
            // Each message of a go-micro stream is a request of its own, timed like any other.
            switch part {
            case .head(let head):
                timedStreaming = responder.streamPlan(for: head)?.framing == .frames
            case .body:
                break
            case .end:
                if timedStreaming { timer.streamEnded() } else { timer.requestComplete(streaming: false) }
            }
        } else {
            // HTTP/2: each stream carries one request, timed from its head to its end.
            switch part {
            case .head:
                let channel = context.channel
                readDeadline = context.eventLoop.scheduleTask(in: requestReadTimeout) { channel.close(promise: nil) }
            case .body:
                break
            case .end:
                readDeadline?.cancel()
                readDeadline = nil
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
        case .backedUp:
            // Reading stopped: only what was read before waits here.
            guard queued.count < Self.maxBackedUpParts else { context.close(promise: nil); return }
            queued.append(part)
        case .idle:
            guard case .head(let head) = part else { return }   // stray parts after a rejected request
            if outboundFull {
                state = .backedUp
                queued.append(part)
                return
            }
            markBusy(true)
            isHTTP2 = head.version.major == 2
            let codings = head.headers[canonicalForm: "transfer-encoding"]
            if !codings.isEmpty, codings.count > 1 || codings[0].lowercased() != "chunked" {
                // Only `chunked`, once: a list (`identity, chunked`, or the header twice) is how
                // requests get smuggled past proxies that read it differently.
                let error = MicroError.badRequest("go.micro.server", "Transfer-Encoding \(codings.joined(separator: ", ")) is not supported; use chunked")
                write(responder.refusal(error, for: head), head: head, keepAlive: false, context: context)
                finishExchange(keepAlive: false, context: context)
                return
            }
            if let plan = responder.streamPlan(for: head) {
                if plan.framing == .frames {
                    startStream(head, plan: plan, context: context)
                } else if plan.framing == .strayEnd {
                    state = .discardingRequest
                } else if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > maxMessageSize {
                    rejectTooLarge(declared, head: head, remaining: declared, context: context)
                } else {
                    state = .openingStream(head, plan, received: 0)
                }
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
                if inbound.hasDelivered { establishStream() }
            case .end:
                inbound.requestEnded()
                establishStream()
            case .head:
                context.close(promise: nil)
            }
        case .openingStream(let head, let plan, let received):
            switch part {
            case .body(let chunk):
                // The opener's body is the empty request go-micro's generated clients send; it is dropped.
                guard received + chunk.readableBytes <= maxMessageSize else {
                    rejectTooLarge(received + chunk.readableBytes, head: head, remaining: nil, context: context)
                    return
                }
                state = .openingStream(head, plan, received: received + chunk.readableBytes)
            case .end:
                startMessageStream(head, plan: plan, context: context)
            case .head:
                context.close(promise: nil)
            }
        case .messageStream(var stream):
            state = .responding   // drop the state's reference so the message buffer is not copied
            let next = stream.take(part, maxMessageSize: maxMessageSize)
            state = .messageStream(stream)
            if case .end = part { establishStream() }
            switch next {
            case .read:
                break
            case .pause:
                pauseReading()
            case .tooLarge(let size):
                // The stream ends with a 413 for the caller to read; the rest of the message is not.
                task?.cancel()
                let error = MicroError.tooLarge("go.micro.server", "stream message of \(size) bytes exceeds the limit of \(maxMessageSize) bytes")
                finishStream(error, generation: streamGeneration, context: context)
                // As for a refused request: read on a little so the caller sees the 413 rather than a reset.
                markBusy(false)
                state = .drainingRefused(budget: Self.refusedDrainLimit)
            case .violation:
                // A message that breaks the stream's rules: go-micro's server would give up the connection too.
                logger.debug("stream message refused", metadata: ["stream": "\(stream.id)"])
                stream.inbound.fail(TransportError(.protocolViolation, address: "", detail: "malformed stream message"))
                state = .closed
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
        let peer = peerIdentity
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let operation: @Sendable () async -> Void = {
            let response = await responder.respond(head, body: body, peerIdentity: peer)
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
        write(responder.refusal(error, for: head), head: head, keepAlive: false, context: context)
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
        serveQueued(context)
    }

    /// Serves what arrived meanwhile (pipelined requests) until a request is being answered again,
    /// or the caller's answers back up.
    private func serveQueued(_ context: ChannelHandlerContext) {
        while !queued.isEmpty {
            switch state {
            case .responding, .backedUp: return
            case .idle where outboundFull: state = .backedUp; return
            default: handle(queued.removeFirst(), context: context)
            }
        }
    }

    // MARK: Streams

    /// Starts serving a stream: its handler runs in a task; `outbound` writes its messages in the
    /// plan's framing; the deadline, if any, ends it with a 408.
    private func beginStream(_ head: HTTPRequestHead, plan: StreamPlan, inbound: StreamInbound, context: ChannelHandlerContext) {
        streamGeneration &+= 1
        streamPlan = plan
        streamEstablished = false
        streamKeepAlive = head.isKeepAlive
        let generation = streamGeneration
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let writer = MessageWriter { message in
            try await loop.flatSubmit { () -> EventLoopFuture<Void> in
                let (handler, context) = bound.value
                guard context.channel.isActive, handler.streamGeneration == generation, let plan = handler.streamPlan else {
                    return loop.makeFailedFuture(TransportError(.connectionClosed, address: "", detail: "the stream has ended"))
                }
                return handler.writeStreamMessage(message, plan: plan, context: context)
            }.get()
        }
        if let deadline = plan.deadline {
            streamDeadline = loop.scheduleTask(deadline: deadline) {
                let (handler, context) = bound.value
                guard handler.streamGeneration == generation, handler.streamPlan != nil else { return }
                handler.task?.cancel()
                handler.finishStream(.timeout("go.micro.server", "stream deadline exceeded"), generation: generation, context: context)
            }
        }
        let responder = self.responder
        let reader = inbound.reader
        let peer = peerIdentity
        task = Task(executorPreference: executor) {
            let error = await responder.respondStreaming(head, peerIdentity: peer, inbound: reader, outbound: writer)
            loop.execute { bound.value.handler.finishStream(error, generation: generation, context: bound.value.context) }
        }
    }

    /// A framed stream: answered at once with a chunked `200 OK` whose body carries the frames.
    private func startStream(_ head: HTTPRequestHead, plan: StreamPlan, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: head.headers.first(name: "Content-Type") ?? "application/json")
        headers.add(name: "Micro-Stream", value: "true")
        if !head.isKeepAlive && head.version.major < 2 { headers.add(name: "Connection", value: "close") }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        let inbound = makeInbound(context)
        state = .streaming(inbound)
        beginStream(head, plan: plan, inbound: inbound, context: context)
    }

    /// A go-micro stream: the opener was read; messages now flow as whole HTTP/1.1 messages.
    private func startMessageStream(_ head: HTTPRequestHead, plan: StreamPlan, context: ChannelHandlerContext) {
        let inbound = makeInbound(context)
        streamAnswerHeaders = MucpStreamWire.echo(head.headers)
        state = .messageStream(MessageStream(id: MucpStreamWire.streamID(head.headers) ?? "", inbound: inbound))
        beginStream(head, plan: plan, inbound: inbound, context: context)
        timer?.awaitMessage()
    }

    private func makeInbound(_ context: ChannelHandlerContext) -> StreamInbound {
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        return StreamInbound(maxMessageSize: maxMessageSize) {
            loop.execute { bound.value.resumeReading() }
        }
    }

    /// Writes one message of the handler's in the stream's framing.
    private func writeStreamMessage(_ message: ByteBuffer, plan: StreamPlan, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        establishStream()
        let written: EventLoopFuture<Void>
        switch plan.framing {
        case .frames:
            written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(StreamFrame.encode(.message, message)))))
        case .messages, .strayEnd:   // (a stray end never starts a stream)
            let headers = MucpStreamWire.headers(streamAnswerHeaders, length: message.readableBytes)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(message))), promise: nil)
            written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        }
        // Every so often the loop's writers wait for a timer instead of going on at once: the
        // loop's task queue empties, it serves I/O for its other channels, then the writers go on.
        guard let turnTaken = LoopWriteGate.current(on: context.eventLoop).wrote() else { return written }
        return written.flatMap { turnTaken }
    }

    /// The stream carried its first message (either way) or the caller's end: from now on it is
    /// not timed as a request being read (a quiet stream is a call in flight, not a slow caller).
    private func establishStream() {
        guard !streamEstablished, streamPlan != nil else { return }
        streamEstablished = true
        timer?.requestComplete(streaming: streamPlan?.framing == .frames)
        readDeadline?.cancel()
        readDeadline = nil
    }

    /// Forgets the stream being served: later writes of its handler fail, its deadline is off.
    private func streamEnded() {
        streamPlan = nil
        streamDeadline?.cancel()
        streamDeadline = nil
    }

    /// Ends the stream `generation` (once: its handler returned, or its deadline passed) with its
    /// terminal message, and goes back to serving the connection.
    private func finishStream(_ error: MicroError?, generation: Int, context: ChannelHandlerContext) {
        guard generation == streamGeneration, let plan = streamPlan else { return }
        task = nil
        streamEnded()
        guard context.channel.isActive else { return }
        switch (state, plan.framing) {
        case (.streaming(let inbound), .frames):
            let terminal = error.map { StreamFrame.encode(.error, ByteBuffer(string: $0.json)) } ?? StreamFrame.encode(.end, ByteBuffer())
            context.write(wrapOutboundOut(.body(.byteBuffer(terminal))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            inbound.fail(CancellationError())
            resumeReading()
            if inbound.hasRequestEnded {
                finishExchange(keepAlive: streamKeepAlive, context: context)
            } else {
                state = .discardingRequest
            }
        case (.messageStream(let stream), .messages):
            let headers = MucpStreamWire.headers(streamAnswerHeaders, length: 0, error: error?.json ?? MucpStreamWire.endOfStream)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            stream.inbound.fail(CancellationError())
            resumeReading()
            // The caller's late messages of this stream (its EOS above all) are dropped as they come.
            if stream.isInsideMessage {
                state = .discardingRequest
            } else {
                finishExchange(keepAlive: streamKeepAlive, context: context)
            }
        default:
            break
        }
    }
}

/// The caller's side of a go-micro stream being served: each request on the connection is one
/// message, delivered whole to the handler; `Micro-Error: EOS` ends the caller's side, any other
/// `Micro-Error` fails it. A value in ``HTTPServerHandler``'s state, touched on the event loop only.
struct MessageStream {
    let id: String
    let inbound: StreamInbound
    /// The body of the message being read, nil between messages.
    private var body: ByteBuffer?
    private var error: String?
    /// The caller ended its side (EOS or an error); it must send nothing more.
    private var callerDone = false

    init(id: String, inbound: StreamInbound) {
        self.id = id
        self.inbound = inbound
    }

    var isInsideMessage: Bool { body != nil }

    /// What the channel does after a part: read on, pause (the handler is behind), end the stream
    /// with a 413 (a message over the size limit), or give up the connection (a message that breaks
    /// the stream's rules: another stream's, one after the caller's end).
    enum Next { case read, pause, tooLarge(Int), violation }

    /// Takes one part of the caller's messages.
    mutating func take(_ part: HTTPServerRequestPart, maxMessageSize: Int) -> Next {
        switch part {
        case .head(let head):
            guard body == nil, !callerDone, MucpStreamWire.streamID(head.headers) == id else { return .violation }
            if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > maxMessageSize { return .tooLarge(declared) }
            error = MucpStreamWire.error(head.headers)
            body = ByteBuffer()
            return .read
        case .body(var chunk):
            guard var b = body else { return .violation }
            guard b.readableBytes + chunk.readableBytes <= maxMessageSize else { return .tooLarge(b.readableBytes + chunk.readableBytes) }
            body = nil   // so the append does not copy
            if b.readableBytes == 0 { b = chunk } else { b.writeBuffer(&chunk) }
            body = b
            return .read
        case .end:
            guard let message = body else { return .violation }
            body = nil
            if let error {
                callerDone = true
                if error == MucpStreamWire.endOfStream {
                    inbound.finish()
                } else {
                    inbound.fail(MicroError.parse(error))
                }
                return .read
            }
            return inbound.deliver(message) ? .read : .pause
        }
    }
}
