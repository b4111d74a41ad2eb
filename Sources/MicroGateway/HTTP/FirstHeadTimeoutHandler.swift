import NIOCore

/// Closes a new connection whose first request head has not arrived whole within the timeout. In front
/// of the HTTP decoder where a WebSocket upgrade is possible: there the HTTP handlers (and
/// ``RequestReadTimeoutHandler``) join only once the first head is read, so a client sending it a byte
/// at a time would otherwise hold the connection. It watches the bytes for the head's end (an empty
/// line), then leaves the pipeline.
final class FirstHeadTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var scheduled: Scheduled<Void>?
    /// The head's end-of-line bytes seen so far (CR LF CR LF, or LF LF).
    private var matcher = HeadEndMatcher()

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        scheduled = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let done = bytes.readableBytesView.contains { matcher.consume($0) }
        context.fireChannelRead(data)
        if done {
            scheduled?.cancel()
            scheduled = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// Finds the end of an HTTP/1 head in a byte stream: an empty line (`\r\n\r\n`, or `\n\n` as lenient
/// parsers accept).
struct HeadEndMatcher: Sendable {
    private var lineLength = 0
    private var sawByte = false

    /// Feeds one byte; true once the head has ended.
    mutating func consume(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\n"):
            defer { lineLength = 0 }
            return lineLength == 0 && sawByte
        case UInt8(ascii: "\r"):
            return false
        default:
            sawByte = true
            lineLength += 1
            return false
        }
    }
}
