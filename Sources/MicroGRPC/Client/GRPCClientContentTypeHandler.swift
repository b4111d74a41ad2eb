import NIOCore
import NIOHTTP2

/// Client side, on each HTTP/2 stream before grpc-swift's handler: sends the subtype the caller
/// asked for (through the private header) and accepts any `application/grpc+subtype` answer.
final class GRPCClientContentTypeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var sentRequestHeaders = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !sentRequestHeaders, case .headers(var headers) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        sentRequestHeaders = true
        if let sub = headers.headers.first(name: GRPCContentType.subtypeHeader) {
            headers.headers.remove(name: GRPCContentType.subtypeHeader)
            if !sub.isEmpty { headers.headers.replaceOrAdd(name: "content-type", value: GRPCContentType.grpcContentType(subtype: sub)) }
        }
        context.write(wrapOutboundOut(.headers(headers)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var headers) = unwrapInboundIn(data), let value = headers.headers.first(name: "content-type"),
              value != "application/grpc", GRPCContentType.subtype(of: value) != nil else {
            context.fireChannelRead(data)
            return
        }
        headers.headers.replaceOrAdd(name: "content-type", value: "application/grpc")
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
    }
}
