import MicroCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// gRPC content types (`application/grpc`, `application/grpc+proto`, `application/grpc+json`, ...)
/// and the codec content types they stand for.
///
/// grpc-swift's HTTP/2 transport speaks `application/grpc` only; the channel handlers below let
/// any `+subtype` through it: on the way in they rewrite the header to `application/grpc` and
/// record the subtype in a private header, on the way out they put the subtype back.
public enum GRPCContentType {
    /// The private header that carries a subtype past grpc-swift's transport (never on the wire).
    static let subtypeHeader = "micro-grpc-subtype"

    /// The subtype of a gRPC content type: `""` for `application/grpc` and `+proto`, `json` for
    /// `application/grpc+json`; nil for anything that is not gRPC. Parameters are ignored.
    public static func subtype(of contentType: String) -> String? {
        if contentType == "application/grpc" { return "" }
        let base = mediaType(contentType)
        guard base.hasPrefix("application/grpc") else { return nil }
        let rest = base.dropFirst("application/grpc".count)
        if rest.isEmpty { return "" }
        guard rest.first == "+" else { return nil }
        let sub = String(rest.dropFirst())
        return sub == "proto" ? "" : sub
    }

    /// The media type of a content type: parameters dropped, spaces trimmed, lowercased (ASCII).
    static func mediaType(_ contentType: String) -> String {
        var bytes = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }[...]
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
        return String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// The codec content type for a subtype: protobuf for none, `application/json` for `json`,
    /// `application/<subtype>` otherwise.
    public static func codecContentType(subtype: String) -> String {
        switch subtype {
        case "", "proto": return "application/protobuf"
        case "json": return "application/json"
        default: return "application/\(subtype)"
        }
    }

    /// The gRPC subtype for a codec content type (`application/json` → `json`, protobuf → none).
    public static func subtype(forCodecContentType contentType: String) -> String {
        if let sub = subtype(of: contentType) { return sub }
        let base = mediaType(contentType)
        switch base {
        case "application/protobuf", "application/x-protobuf", "application/proto", "": return ""
        default: return base.hasPrefix("application/") ? String(base.dropFirst("application/".count)) : base
        }
    }

    /// The full gRPC content type for a subtype.
    public static func grpcContentType(subtype: String) -> String {
        subtype.isEmpty ? "application/grpc" : "application/grpc+\(subtype)"
    }
}

/// Server side, on each HTTP/2 stream before grpc-swift's handler: accepts any
/// `application/grpc+subtype` and answers in the subtype the client used; and reads the request's
/// message framing so that what grpc-swift would answer with a bare stream reset gets a gRPC
/// status instead: a message over the size limit (RESOURCE_EXHAUSTED), a message cut short by the
/// end of the stream, a compressed message without `grpc-encoding` (INTERNAL).
final class GRPCServerContentTypeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let maxMessageSize: Int
    private var sawRequestHeaders = false
    private var sentResponseHeaders = false
    private var responseContentType: String?
    private var compressionAllowed = false
    private var rejected = false
    // The framing reader: the current prefix's bytes so far (flag, then length big-endian) and how
    // many, then bytes of the message left to skip.
    private var prefix: UInt64 = 0
    private var prefixCount = 0
    private var remaining = 0

    init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if rejected { return }
        switch unwrapInboundIn(data) {
        case .headers(var headers) where !sawRequestHeaders:
            sawRequestHeaders = true
            headers.headers.remove(name: GRPCContentType.subtypeHeader)
            if let encoding = headers.headers.first(name: "grpc-encoding"), encoding != "identity" { compressionAllowed = true }
            if let value = headers.headers.first(name: "content-type"), let sub = GRPCContentType.subtype(of: value),
               value != "application/grpc" {
                headers.headers.replaceOrAdd(name: "content-type", value: "application/grpc")
                if !sub.isEmpty {
                    headers.headers.add(name: GRPCContentType.subtypeHeader, value: sub)
                    responseContentType = GRPCContentType.grpcContentType(subtype: sub)
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

    /// Answers with the status at once, then resets the stream (which cancels the call).
    private func reject(context: ChannelHandlerContext, code: Int, message: String) {
        rejected = true
        var trailers = HPACKHeaders()
        if !sentResponseHeaders {
            trailers.add(name: ":status", value: "200")
            trailers.add(name: "content-type", value: responseContentType ?? "application/grpc")
        }
        trailers.add(name: "grpc-status", value: "\(code)")
        trailers.add(name: "grpc-message", value: message)
        sentResponseHeaders = true
        let frame = HTTP2Frame.FramePayload.headers(.init(headers: trailers, endStream: true))
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in bound.value.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .headers(var headers) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if rejected {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        sentResponseHeaders = true
        guard let responseContentType, headers.headers.contains(name: "content-type") else {
            context.write(data, promise: promise)
            return
        }
        headers.headers.replaceOrAdd(name: "content-type", value: responseContentType)
        context.write(wrapOutboundOut(.headers(headers)), promise: promise)
    }
}

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

extension Codecs {
    /// The standard codecs plus gRPC's names for them: `application/grpc` and `+proto` (protobuf),
    /// `+json` (JSON), so a client may name its content type either way.
    public static let withGRPCContentTypes: Codecs = {
        var codecs = Codecs.standard
        codecs.register(ProtobufCodec(contentType: "application/grpc"))
        codecs.register(ProtobufCodec(contentType: "application/grpc+proto"))
        codecs.register(JSONCodec(contentType: "application/grpc+json"))
        return codecs
    }()
}
