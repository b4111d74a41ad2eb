import NIOCore
import NIOHPACK
import NIOHTTP2

/// Server side, first on each HTTP/2 stream, inbound only: accepts any `application/grpc+subtype`
/// (rewritten to `application/grpc` for grpc-swift's transport, the subtype passed on in a private
/// header), and reads the request's message framing so that what grpc-swift would answer with a bare
/// stream reset gets a gRPC status instead: a message over the size limit (RESOURCE_EXHAUSTED), a
/// message cut short by the end of the stream, a compressed message without `grpc-encoding` (INTERNAL).
/// It also names the stream's ``GRPCStreamGate`` to the dispatcher in a private header.
final class GRPCRequestChecker: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let maxMessageSize: Int
    private let state: GRPCServerStreamState
    /// The stream's ``GRPCStreamGate``, named to the dispatcher in a private request header.
    private let gateID: UInt64?
    private var sawRequestHeaders = false
    private var compressionAllowed = false
    // The framing reader: the current prefix's bytes so far (flag, then length big-endian) and how
    // many, then bytes of the message left to skip.
    private var prefix: UInt64 = 0
    private var prefixCount = 0
    private var remaining = 0

    init(maxMessageSize: Int, state: GRPCServerStreamState, gateID: UInt64? = nil) {
        self.maxMessageSize = maxMessageSize
        self.state = state
        self.gateID = gateID
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state.rejected { return }
        switch unwrapInboundIn(data) {
        case .headers(var headers) where !sawRequestHeaders:
            sawRequestHeaders = true
            headers.headers.remove(name: GRPCContentType.subtypeHeader)
            headers.headers.remove(name: GRPCStreamGates.header)
            if let gateID { headers.headers.add(name: GRPCStreamGates.header, value: String(gateID)) }
            if let encoding = headers.headers.first(name: "grpc-encoding"), encoding != "identity" { compressionAllowed = true }
            if let value = headers.headers.first(name: "content-type"), value != "application/grpc",
               let sub = GRPCContentType.subtype(of: value) {
                headers.headers.replaceOrAdd(name: "content-type", value: "application/grpc")
                if !sub.isEmpty {
                    headers.headers.add(name: GRPCContentType.subtypeHeader, value: sub)
                    state.responseContentType = GRPCContentType.grpcContentType(subtype: sub)
                }
            }
            context.fireChannelRead(wrapInboundOut(.headers(headers)))
        case .data(let frame):
            if case .byteBuffer(let buffer) = frame.data, let problem = check(buffer, endStream: frame.endStream) {
                reject(context: context, code: problem.code, message: problem.message)
                return
            }
            context.fireChannelRead(data)
        default:
            context.fireChannelRead(data)
        }
    }

    /// Follows the length-prefixed messages through one DATA frame; returns what is wrong, if anything.
    private func check(_ buffer: ByteBuffer, endStream: Bool) -> (code: Int, message: String)? {
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while index < end {
            if remaining > 0 {
                let skip = min(remaining, end - index)
                remaining -= skip
                index += skip
                continue
            }
            prefix = prefix << 8 | UInt64(buffer.getInteger(at: index, as: UInt8.self)!)
            prefixCount += 1
            index += 1
            guard prefixCount == 5 else { continue }
            let flags = UInt8(truncatingIfNeeded: prefix >> 32)
            let length = Int(prefix & 0xFFFF_FFFF)
            prefix = 0
            prefixCount = 0
            if flags & 1 == 1, !compressionAllowed {
                return (13, "a compressed message arrived without a grpc-encoding")
            }
            if length > maxMessageSize {
                return (8, "request message of \(length) bytes exceeds the limit of \(maxMessageSize)")
            }
            remaining = length
        }
        if endStream, remaining > 0 || prefixCount > 0 {
            return (13, "the stream ended inside a message")
        }
        return nil
    }

    /// Answers with the status at once (straight to the stream, past the response rewriter), then
    /// resets the stream (which cancels the call).
    private func reject(context: ChannelHandlerContext, code: Int, message: String) {
        state.rejected = true
        var trailers = HPACKHeaders()
        if !state.sentResponseHeaders {
            trailers.add(name: ":status", value: "200")
            trailers.add(name: "content-type", value: state.responseContentType ?? "application/grpc")
        }
        trailers.add(name: "grpc-status", value: "\(code)")
        trailers.add(name: "grpc-message", value: message)
        state.sentResponseHeaders = true
        let frame = HTTP2Frame.FramePayload.headers(.init(headers: trailers, endStream: true))
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
