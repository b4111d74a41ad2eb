import NIOCore
import NIOHTTP1

/// Shared by the two handlers below: cuts off a request that arrives too slowly. One repeating
/// check per connection (every quarter of the timeout), so requests themselves schedule nothing.
final class RequestTimer {
    private var started: NIODeadline?
    private var inRequest = false
    private var check: RepeatedTask?
    let timeout: TimeAmount
    init(timeout: TimeAmount) { self.timeout = timeout }

    func bytesArrived(_ context: ChannelHandlerContext) {
        guard !inRequest, started == nil else { return }
        started = .now()
        guard check == nil else { return }
        let channel = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let period = TimeAmount.nanoseconds(max(1_000_000, timeout.nanoseconds / 4))
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            if let started = bound.value.started, NIODeadline.now() - started >= bound.value.timeout {
                channel.close(promise: nil)
            }
        }
    }

    func requestComplete(streaming: Bool) {
        started = nil
        inRequest = streaming
    }

    func streamEnded() { inRequest = false }

    func stop() {
        check?.cancel()
        check = nil
    }
}

/// Before the HTTP decoder: arms the timer when a request's first bytes arrive.
final class RequestStartHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let timer: RequestTimer
    init(timer: RequestTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer.bytesArrived(context)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.stop()
    }
}

/// After the HTTP decoder: disarms the timer when the request is complete (or, for a stream, once
/// its head arrived: a stream's body may legitimately take long), and closes connections that are
/// idle — but never one whose request is still being answered.
final class RequestEndHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    let timer: RequestTimer
    private var streaming = false
    private var answering = false
    init(timer: RequestTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            answering = true
            streaming = head.headers.contains(name: "Micro-Stream") || head.headers.contains(name: "X-Micro-Stream")
            if streaming { timer.requestComplete(streaming: true) }
        case .body: break
        case .end:
            if streaming { timer.streamEnded() } else { timer.requestComplete(streaming: false) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { answering = false }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if !answering { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Closes a connection when the idle handler before it says it has been idle (HTTP/2 connections).
final class IdleCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
