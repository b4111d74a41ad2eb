import NIOCore
import NIOHTTP1

/// An HTTP/1 connection's two clocks: a request that arrives too slowly is cut off
/// (`requestReadTimeout`), and a connection with no request for `idleTimeout` is closed — never one
/// whose request is still being answered.
///
/// One repeating check per connection counts ticks (a quarter of the shorter timeout each), so
/// requests themselves neither schedule anything nor read the clock. A timeout fires between its
/// value and one tick later. Touched on the connection's event loop only.
final class ConnectionTimer {
    let period: TimeAmount
    private let readTicks: Int
    private let idleTicks: Int
    /// A request's first bytes arrived and it is not complete yet.
    private var reading = false
    private var readingTicks = 0
    /// Between a stream's head and its end: its body may legitimately take long.
    private var streaming = false
    private var answering = false
    /// Something happened since the last tick.
    private var active = true
    private var quietTicks = 0
    private var check: RepeatedTask?

    init(readTimeout: TimeAmount, idleTimeout: TimeAmount) {
        let shorter = min(readTimeout.nanoseconds, idleTimeout.nanoseconds)
        period = .nanoseconds(max(1_000_000, shorter / 4))
        readTicks = Int((readTimeout.nanoseconds + period.nanoseconds - 1) / period.nanoseconds)
        idleTicks = Int((idleTimeout.nanoseconds + period.nanoseconds - 1) / period.nanoseconds)
    }

    /// Starts the repeating check for `channel`.
    func start(_ channel: any Channel) {
        guard check == nil else { return }
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        check = channel.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            if bound.value.tick() { channel.close(promise: nil) }
        }
    }

    /// One tick; true when the connection should close.
    private func tick() -> Bool {
        if reading {
            readingTicks += 1
            if readingTicks > readTicks { return true }
        }
        if active || answering || reading {
            active = false
            quietTicks = 0
            return false
        }
        quietTicks += 1
        return quietTicks >= idleTicks
    }

    func bytesArrived() {
        active = true
        guard !reading, !streaming else { return }
        reading = true
        readingTicks = 0
    }

    func requestComplete(streaming: Bool) {
        reading = false
        self.streaming = streaming
    }

    func streamEnded() {
        streaming = false
        reading = false
    }

    /// A stream waits for its first message: timed as a request being read until it arrives.
    func awaitMessage() {
        reading = true
        readingTicks = 0
    }

    /// The handler started (`true`) or finished (`false`) answering a request.
    func setAnswering(_ value: Bool) {
        answering = value
        active = true
    }

    func stop() {
        check?.cancel()
        check = nil
    }
}

/// Before the HTTP decoder: tells the timer when bytes arrive, and runs it while the channel lives.
final class RequestStartHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let timer: ConnectionTimer
    init(timer: ConnectionTimer) { self.timer = timer }

    func handlerAdded(context: ChannelHandlerContext) {
        timer.start(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer.bytesArrived()
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

/// Closes a connection on any error that reaches the end of its pipeline (HTTP/2 connections: a
/// protocol error, a flood, a frame that breaks the rules).
final class CloseOnErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
