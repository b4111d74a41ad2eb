import NIOCore
import NIOHTTP1
import NIOHTTP2

/// A server connection once its protocol is known: HTTP/1.1, or HTTP/2 over cleartext (h2c with
/// prior knowledge), whose streams each look like an HTTP/1 exchange.
enum ServerConnection: Sendable {
    typealias Exchange = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    case http1(Exchange)
    case http2(channel: any Channel, streams: NIOHTTP2Handler.AsyncStreamMultiplexer<Exchange>)
}

/// The first handler of every accepted connection: reads until it can tell the HTTP/2 connection
/// preface from an HTTP/1 request line, then builds the matching pipeline and steps aside.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var buffered: ByteBuffer?
    private var decided = false
    private let promise: EventLoopPromise<ServerConnection>
    private let http1: (any Channel) throws -> ServerConnection
    private let http2: (any Channel) throws -> ServerConnection

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(promise: EventLoopPromise<ServerConnection>, timeout: TimeAmount,
         http1: @escaping (any Channel) throws -> ServerConnection,
         http2: @escaping (any Channel) throws -> ServerConnection) {
        self.promise = promise
        self.timeout = timeout
        self.http1 = http1
        self.http2 = http2
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // A peer that never sends enough to tell the protocol apart is cut off.
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if buffered == nil { buffered = chunk } else { buffered!.writeBuffer(&chunk) }
        let bytes = buffered!.readableBytesView
        let n = min(bytes.count, Self.preface.count)
        let isPrefix = bytes.prefix(n).elementsEqual(Self.preface.prefix(n))
        if isPrefix && n < Self.preface.count { return }   // need more bytes to decide
        do {
            let connection = try (isPrefix ? http2 : http1)(context.channel)
            let data = buffered!
            buffered = nil
            decided = true
            promise.succeed(connection)
            context.fireChannelRead(wrapInboundOut(data))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            decided = true
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided { decided = true; promise.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        // Removal after the decision is normal; before it, the connection went away undecided.
        if !decided { decided = true; promise.fail(ChannelError.eof) }
    }
}
