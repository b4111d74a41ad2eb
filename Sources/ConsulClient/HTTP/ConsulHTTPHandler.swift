import NIOCore
import NIOHTTP1

/// Why an exchange on one connection failed, before it is mapped to a ``ConsulError``.
enum ConsulTransportFailure: Error, Sendable {
    /// The connection closed; `answered` tells whether any of the response had arrived.
    case closed(answered: Bool)
    /// The response's body passed the bound.
    case tooLarge(Int)
    /// The response did not arrive in time.
    case timedOut
    /// A request was written while another was in flight (a bug).
    case busy
    /// The channel reported an error (a malformed response, a reset).
    case channel(any Error)
}

/// A request to write and the promise its response completes.
struct ConsulHTTPExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var timeout: TimeAmount
    var promise: EventLoopPromise<ConsulHTTPResponse>
}

/// One request at a time on an HTTP/1.1 connection: writes it, collects the bounded response,
/// completes the exchange's promise exactly once (answer, close, error or timeout).
final class ConsulHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ConsulHTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    private let maxBody: Int
    private var promise: EventLoopPromise<ConsulHTTPResponse>?
    private var timer: Scheduled<Void>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(maxBody: Int) {
        self.maxBody = maxBody
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise writePromise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard promise == nil else {
            exchange.promise.fail(ConsulTransportFailure.busy)
            writePromise?.fail(ConsulTransportFailure.busy)
            return
        }
        promise = exchange.promise
        head = nil
        body = []
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: exchange.timeout) {
            handler.value.fail(ConsulTransportFailure.timedOut, context: loopContext.value)
        }
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let b = exchange.body { context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: writePromise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard promise != nil else {
            // Bytes nobody asked for: the connection is not in a state to reuse.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let h):
            if let length = h.headers.first(name: "content-length").flatMap({ Int($0) }), length > maxBody {
                fail(ConsulTransportFailure.tooLarge(maxBody), context: context)
                return
            }
            head = h
        case .body(let b):
            guard b.readableBytes <= maxBody - body.count else {
                fail(ConsulTransportFailure.tooLarge(maxBody), context: context)
                return
            }
            body += b.readableBytesView
        case .end:
            guard let h = head, let p = promise else { return }
            promise = nil
            timer?.cancel()
            timer = nil
            let response = ConsulHTTPResponse(status: Int(h.status.code), headers: h.headers, body: body, keepAlive: h.isKeepAlive)
            head = nil
            body = []
            p.succeed(response)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let p = promise {
            promise = nil
            timer?.cancel()
            p.fail(ConsulTransportFailure.closed(answered: head != nil))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(ConsulTransportFailure.channel(error), context: context)
    }

    /// Fails the exchange in flight (if any) and closes the connection.
    private func fail(_ error: ConsulTransportFailure, context: ChannelHandlerContext) {
        if let p = promise {
            promise = nil
            timer?.cancel()
            timer = nil
            p.fail(error)
        }
        context.close(promise: nil)
    }
}
