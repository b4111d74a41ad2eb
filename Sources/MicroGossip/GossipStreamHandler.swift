import NIOConcurrencyHelpers
import NIOCore

/// One TCP stream: collects bytes until one whole memberlist message is there (bounded in size
/// and time), then answers it (server) or hands it back (client).
final class GossipStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Mode {
        case server(GossipTransport.StreamHandler)
        case client(request: [UInt8], expectReply: Bool, promise: EventLoopPromise<GossipMessage?>)
    }

    /// Inbound streams open at once, across every node in this process (memberlist allows 128 push-pulls).
    private static let openInbound = NIOLockedValueBox(0)
    static let maxOpenInbound = 256
    private var counted = false

    private let mode: Mode
    private let limits: GossipWire.Limits
    private let timeout: TimeAmount
    private var buffer: [UInt8] = []
    private var done = false
    private var timer: Scheduled<Void>?

    init(mode: Mode, limits: GossipWire.Limits, timeout: TimeAmount) {
        self.mode = mode
        self.limits = limits
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .server = mode {
            let admitted = Self.openInbound.withLockedValue { n -> Bool in
                guard n < Self.maxOpenInbound else { return false }
                n += 1
                return true
            }
            guard admitted else {
                done = true
                context.close(promise: nil)
                return
            }
            counted = true
        }
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            handler.value.finish(loopContext.value, .failure(GossipError(.timeout, "stream took longer than \(handler.value.timeout)")))
        }
        if case .client(let request, let expectReply, _) = mode {
            let written = context.writeAndFlush(NIOAny(ByteBuffer(bytes: request)))
            if !expectReply {
                written.whenComplete { result in
                    switch result {
                    case .success: handler.value.finish(loopContext.value, .success(nil))
                    case .failure(let e): handler.value.finish(loopContext.value, .failure(e))
                    }
                }
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let chunk = unwrapInboundIn(data)
        buffer.append(contentsOf: chunk.readableBytesView)
        if buffer.count > limits.maxStream {
            finish(context, .failure(GossipWireError(.tooLarge, "stream over \(limits.maxStream) bytes")))
        }
    }

    /// Tries to decode once per burst of reads (not per read), so a large stream is not re-parsed per chunk.
    func channelReadComplete(context: ChannelHandlerContext) {
        tryDecode(context)
    }

    private func tryDecode(_ context: ChannelHandlerContext) {
        guard !done, !buffer.isEmpty else { return }
        let message: GossipMessage
        do {
            message = try GossipWire.decodeStream(buffer, limits: limits)
        } catch let e as GossipWireError where e.code == .truncated {
            return  // wait for more
        } catch {
            finish(context, .failure(error))
            return
        }
        switch mode {
        case .server(let handle):
            done = true
            timer?.cancel()
            let reply = handle(message, context.remoteAddress)
            if let reply {
                let channel = context.channel
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: reply))).whenComplete { _ in channel.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        case .client(_, let expectReply, _):
            if expectReply { finish(context, .success(message)) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted {
            counted = false
            Self.openInbound.withLockedValue { $0 -= 1 }
        }
        tryDecode(context)  // a reply that ended with the peer's close
        finish(context, .failure(GossipError(.protocolViolation, "stream closed after \(buffer.count) bytes without a whole message")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(error))
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<GossipMessage?, any Error>) {
        guard !done else { return }
        done = true
        timer?.cancel()
        if case .client(_, _, let promise) = mode {
            switch result {
            case .success(let m): promise.succeed(m)
            case .failure(let e): promise.fail(e)
            }
        }
        context.close(promise: nil)
    }
}
