import MicroAddress
import MicroCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One client connection (or one HTTP/2 stream): requests go out through the channel, response
/// parts come back through a backpressured sequence fed by ``ResponsePartsHandler``.
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

    /// Sends a whole request in one trip to the event loop, without waiting for the write: a failed
    /// write closes the channel, which ends the response sequence. With a `deadline`, the channel is
    /// closed then (setting `timedOut`) unless the response has ended first; the timer is armed and
    /// disarmed on the event loop.
    func send(_ parts: [HTTPClientRequestPart], deadline: NIODeadline?, timedOut: NIOLockedValueBox<Bool>) {
        let handler = self.handler
        let loop = channel.eventLoop
        if loop.inEventLoop {
            handler.value.send(parts, deadline: deadline, timedOut: timedOut)
        } else {
            loop.execute { handler.value.send(parts, deadline: deadline, timedOut: timedOut) }
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

/// Hands a client channel's response parts to an async reader; stops reading the socket while the
/// reader is behind, and ends the sequence when the channel closes.
final class ResponsePartsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    var source: HTTPConnection.Parts.Source?
    private var context: ChannelHandlerContext?
    private var paused = false
    private var readPending = false

    /// The deadline of the request being answered (see ``HTTPConnection/send(_:deadline:timedOut:)``).
    private var deadlineTimer: Scheduled<Void>?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ parts: [HTTPClientRequestPart], deadline: NIODeadline?, timedOut: NIOLockedValueBox<Bool>) {
        guard let context else { return }   // removed: the channel is closing, and the reader sees it end
        deadlineTimer?.cancel()
        deadlineTimer = nil
        if let deadline {
            let channel = context.channel
            deadlineTimer = context.eventLoop.scheduleTask(deadline: deadline) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
        }
        for part in parts { context.write(wrapOutboundOut(part), promise: nil) }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .end = part {
            deadlineTimer?.cancel()
            deadlineTimer = nil
        }
        if case .stopProducing = source?.yield(part) { paused = true }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadlineTimer?.cancel()
        deadlineTimer = nil
        source?.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
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
