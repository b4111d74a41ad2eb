import NIOCore

/// The first handler of every accepted connection: reads until it can tell the HTTP/2 connection
/// preface (h2c with prior knowledge) from an HTTP/1 request line, builds the matching pipeline
/// behind itself, hands it the bytes read so far and steps aside.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var buffered: ByteBuffer?
    private var decided = false
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private let http1: (any Channel) throws -> Void
    private let http2: (any Channel) throws -> Void

    /// `http1`/`http2` add the protocol's handlers at the end of the pipeline.
    init(timeout: TimeAmount, http1: @escaping (any Channel) throws -> Void, http2: @escaping (any Channel) throws -> Void) {
        self.timeout = timeout
        self.http1 = http1
        self.http2 = http2
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // A peer that never sends enough to tell the protocol apart is cut off.
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { context.fireChannelRead(data); return }
        var chunk = unwrapInboundIn(data)
        if buffered == nil { buffered = chunk } else { buffered!.writeBuffer(&chunk) }
        let bytes = buffered!.readableBytesView
        let n = min(bytes.count, Self.preface.count)
        let isPrefix = bytes.prefix(n).elementsEqual(Self.preface.prefix(n))
        if isPrefix && n < Self.preface.count { return }   // need more bytes to decide
        decided = true
        timer?.cancel()
        do {
            try (isPrefix ? http2 : http1)(context.channel)
        } catch {
            context.close(promise: nil)
            return
        }
        let data = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(data))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
