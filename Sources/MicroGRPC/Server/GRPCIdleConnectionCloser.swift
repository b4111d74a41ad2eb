import NIOCore

/// At the end of a gRPC connection's pipeline: closes the connection once it has had no open
/// stream for `timeout`. grpc-swift's own `maxIdleTime` only sends GOAWAY and a PING, and waits for
/// the PING's answer before it closes, so a peer that never answers holds the connection (and its
/// descriptor) forever; this closes it regardless. Streams are counted by ``track(_:)``, called for
/// each stream the connection accepts.
final class GRPCIdleConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let timeout: TimeAmount
    private var openStreams = 0
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeout: TimeAmount) { self.timeout = timeout }

    /// Counts `stream` (an HTTP/2 stream channel of a connection this closer watches) while it is open.
    static func track(_ stream: any Channel) {
        guard let connection = stream.parent,
              let closer = try? connection.pipeline.syncOperations.handler(type: GRPCIdleConnectionCloser.self) else { return }
        closer.streamOpened()
        let bound = NIOLoopBound(closer, eventLoop: stream.eventLoop)
        stream.closeFuture.whenComplete { _ in bound.value.streamClosed() }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm() }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func streamOpened() {
        openStreams += 1
        disarm()
    }

    private func streamClosed() {
        openStreams = max(0, openStreams - 1)
        if openStreams == 0 { arm() }
    }

    private func arm() {
        disarm()
        guard let context else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
