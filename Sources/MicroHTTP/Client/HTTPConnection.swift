import MicroAddress
import MicroCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// One client connection (or one HTTP/2 stream): requests go out through the channel; a unary
/// exchange's response is gathered whole on the event loop and handed over once, a stream's parts
/// come back through a backpressured sequence, both by ``ResponsePartsHandler``.
/// Safety: the pool hands a connection to one caller at a time, so the iterator has one reader.
final class HTTPConnection: @unchecked Sendable {
    typealias Parts = NIOThrowingAsyncSequenceProducer<HTTPClientResponsePart, any Error,
        NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ResponsePartsHandler.Demand>
    let address: String
    let host: String
    let channel: any Channel
    private var iterator: Parts.AsyncIterator
    private let handler: NIOLoopBound<ResponsePartsHandler>
    /// How many requests this connection served (0: fresh).
    var uses = 0
    /// False for an HTTP/2 stream, which serves one exchange and closes.
    let reusable: Bool

    private init(address: String, host: String, channel: any Channel, parts: Parts, handler: NIOLoopBound<ResponsePartsHandler>, reusable: Bool) {
        self.address = address
        self.host = host
        self.channel = channel
        self.iterator = parts.makeAsyncIterator()
        self.handler = handler
        self.reusable = reusable
    }

    /// Adds the response-parts handler to a channel whose pipeline already speaks HTTP/1 parts
    /// (an HTTP/1.1 connection or an HTTP/2 stream with its codec), on the channel's event loop.
    static func wrap(_ channel: any Channel, address: String, host: String, reusable: Bool) throws -> HTTPConnection {
        let handler = ResponsePartsHandler()
        let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        let made = Parts.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16),
            finishOnDeinit: true,
            delegate: ResponsePartsHandler.Demand(loopBound: bound))
        handler.source = made.source
        try channel.pipeline.syncOperations.addHandler(handler)
        return HTTPConnection(address: address, host: host, channel: channel, parts: made.sequence, handler: bound, reusable: reusable)
    }

    /// The responses a connection reads: one per request (NIO's decoder), or any number of
    /// unsolicited ones (a go-micro stream's answers, ``MucpResponseDecoder``).
    enum Answers { case paired, unsolicited(maxMessageSize: Int) }

    static func connect(to address: String, timeout: Duration, answers: Answers = .paired, security: HTTPTransportSecurity? = nil,
                        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPConnection {
        let target = try HostPort.transportAddress(address)
        let (host, port) = (target.host, target.port)
        do {
            return try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls = security?.client { try tls(channel, host, false) }
                        let sync = channel.pipeline.syncOperations
                        switch answers {
                        case .paired:
                            try sync.addHTTPClientHandlers()
                        case .unsolicited(let maxMessageSize):
                            try sync.addHandler(HTTPRequestEncoder())
                            try sync.addHandler(ByteToMessageHandler(MucpResponseDecoder(maxBodySize: maxMessageSize)))
                        }
                        return try wrap(channel, address: address, host: host, reusable: true)
                    }
                }
        } catch {
            throw TransportError(.connectFailed, address: address, detail: "\(error)")
        }
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }

    deinit { channel.close(promise: nil) }

    /// Sends one whole request (head, body, end) and waits for its whole response, bounded by
    /// `maxBodySize`: one trip to the event loop (none from a task already on it) and one resumption
    /// when the response has ended. With a `deadline`, the connection is closed then unless the
    /// response has ended first (``ExchangeFailure/timedOut``); the check costs no timer per request
    /// (see ``ResponsePartsHandler``). Cancelling the task closes the connection.
    func exchange(_ head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline?, maxBodySize: Int) async throws -> HTTPReply {
        let handler = self.handler
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (reply: UnsafeContinuation<HTTPReply, any Error>) in
                let exchange = ResponsePartsHandler.Exchange(reply: reply, deadline: deadline, maxBodySize: maxBodySize)
                if handler.eventLoop.inEventLoop {
                    handler.value.start(exchange, head: head, body: body)
                } else {
                    handler.eventLoop.execute { handler.value.start(exchange, head: head, body: body) }
                }
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    func write(_ part: HTTPClientRequestPart) async throws {
        try await channel.writeAndFlush(part)
    }

    /// Writes whole messages' parts in one trip to the event loop and one flush.
    func write(_ parts: [HTTPClientRequestPart]) async throws {
        let channel = self.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            for part in parts.dropLast() { channel.write(part, promise: nil) }
            return channel.writeAndFlush(parts.last!)
        }.get()
    }

    func next() async throws -> HTTPClientResponsePart? {
        try await iterator.next()
    }

    /// Closes the connection at `deadline` unless the returned handle is cancelled first.
    func closeAt(_ deadline: NIODeadline?) -> Scheduled<Void>? {
        guard let deadline else { return nil }
        let channel = self.channel
        return channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
    }
}

/// Hands a client channel's response parts to an async reader (streams), or gathers one whole
/// response for the caller waiting in ``HTTPConnection/exchange(_:body:deadline:maxBodySize:)``;
/// stops reading the socket while the reader is behind, and ends either when the channel closes.
///
/// Deadlines of exchanges share one timer per connection: it is armed for the earliest deadline
/// that may matter and, when it fires, closes the connection only if the exchange then in flight
/// is past its own deadline, else re-arms for that exchange's deadline. Calls that finish well
/// within their timeout (the usual case) thus schedule one timer per timeout period, not one each.
final class ResponsePartsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// One request waiting for its whole response.
    struct Exchange {
        let reply: UnsafeContinuation<HTTPReply, any Error>
        let deadline: NIODeadline?
        let maxBodySize: Int
        /// The response so far; nil until its head came.
        var answer: HTTPReply?
    }

    var source: HTTPConnection.Parts.Source?
    private var context: ChannelHandlerContext?
    private var paused = false
    private var readPending = false
    private var inactive = false

    private var exchange: Exchange?
    /// The connection's one deadline check and when it fires.
    private var check: Scheduled<Void>?
    private var checkAt: NIODeadline?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        fail(ExchangeFailure.closed(ChannelError.ioOnClosedChannel))
    }

    /// Starts an exchange: writes the request and flushes; the response resumes `exchange.reply`.
    func start(_ exchange: Exchange, head: HTTPRequestHead, body: ByteBuffer) {
        guard let context, !inactive else {
            // Closed (by the peer, or a cancelled caller) before the request went out.
            exchange.reply.resume(throwing: ExchangeFailure.closed(ChannelError.ioOnClosedChannel))
            return
        }
        guard self.exchange == nil else {
            exchange.reply.resume(throwing: ExchangeFailure.busy)
            return
        }
        self.exchange = exchange
        if let deadline = exchange.deadline { arm(deadline, context: context) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Makes sure a check runs no later than `deadline`.
    private func arm(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        if let at = checkAt, at <= deadline { return }
        check?.cancel()
        checkAt = deadline
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in self.deadlineCheck() }
    }

    private func deadlineCheck() {
        check = nil
        checkAt = nil
        guard let context, let deadline = exchange?.deadline else { return }
        if deadline <= .now() {
            fail(ExchangeFailure.timedOut)
            context.close(promise: nil)
        } else {
            arm(deadline, context: context)
        }
    }

    /// Ends the exchange in flight, if any, with `error` (a closed connection before the response
    /// head counts as ``ExchangeFailure/closedBeforeAnswer(_:)``).
    private func fail(_ error: any Error) {
        guard let e = exchange else { return }
        exchange = nil
        if e.answer == nil, case .closed(let underlying) = error as? ExchangeFailure {
            e.reply.resume(throwing: ExchangeFailure.closedBeforeAnswer(underlying))
        } else {
            e.reply.resume(throwing: error)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if exchange != nil {
            gather(part, context: context)
            return
        }
        if case .stopProducing = source?.yield(part) { paused = true }
    }

    private func gather(_ part: HTTPClientResponsePart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            exchange?.answer = HTTPReply(status: head.status, headers: head.headers, body: ByteBuffer(), keepAlive: head.isKeepAlive)
        case .body(var chunk):
            guard let e = exchange, let answer = e.answer else { return }
            guard answer.body.readableBytes + chunk.readableBytes <= e.maxBodySize else {
                fail(MicroError.tooLarge("go.micro.client", "response exceeds the limit of \(e.maxBodySize) bytes"))
                context.close(promise: nil)
                return
            }
            if answer.body.readableBytes == 0 {
                exchange?.answer?.body = chunk
            } else {
                exchange?.answer?.body.writeBuffer(&chunk)
            }
        case .end:
            guard let e = exchange else { return }
            exchange = nil
            if let answer = e.answer {
                e.reply.resume(returning: answer)
            } else {
                e.reply.resume(throwing: ExchangeFailure.closedBeforeAnswer(ChannelError.inputClosed))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        check?.cancel()
        check = nil
        checkAt = nil
        fail(ExchangeFailure.closed(TransportError(.connectionClosed, address: "", detail: "connection closed before the response ended")))
        source?.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(ExchangeFailure.closed(error))
        source?.finish(error)
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if paused { readPending = true } else { context.read() }
    }

    fileprivate func resume() {
        guard paused else { return }
        paused = false
        if readPending, let context { readPending = false; context.read() }
    }

    struct Demand: NIOAsyncSequenceProducerDelegate {
        let loopBound: NIOLoopBound<ResponsePartsHandler>
        func produceMore() {
            let bound = loopBound
            bound.eventLoop.execute { bound.value.resume() }
        }
        func didTerminate() {}
    }
}
