import NIOCore
import NIOHTTP2

/// Server side, on each HTTP/2 stream after the request checker, outbound only: answers in the
/// subtype the caller used and records that response headers went out, then leaves the pipeline, so
/// the stream's messages and trailers pass no handler of ours.
final class GRPCResponseHeadersRewriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let state: GRPCServerStreamState

    init(state: GRPCServerStreamState) {
        self.state = state
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .headers(var headers) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if state.rejected {
            // The checker already answered with a status.
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        state.sentResponseHeaders = true
        if let responseContentType = state.responseContentType, headers.headers.contains(name: "content-type") {
            headers.headers.replaceOrAdd(name: "content-type", value: responseContentType)
            context.write(wrapOutboundOut(.headers(headers)), promise: promise)
        } else {
            context.write(data, promise: promise)
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
