import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// On the listening channel: when accept fails for want of resources (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM), stops accepting for `pause`, then tries again — instead of a core spinning on a socket
/// that stays readable while every accept fails. NIO's `AcceptBackoffHandler` cannot do this here:
/// after a failed accept the channel still has a read pending, so it never asks again, and
/// unregistering it from the selector (turning auto-read off) is what stops the spin.
final class AcceptBackoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    let pause: TimeAmount
    private var paused = false

    init(pause: TimeAmount = .milliseconds(100)) { self.pause = pause }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let channel = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: pause) {
            bound.value.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
