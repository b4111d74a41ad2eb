import MicroCore
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Serves an HTTP/2 connection's whole-message requests on the connection itself, as the HTTP/1.1
/// path serves its requests: a request whose body is one message (no ``StreamPlan``) is gathered from
/// its stream's frames and answered with HEADERS and DATA frames by a task started at once on the
/// connection's event loop — no stream channel, no per-stream pipeline, no header conversion on the
/// way out. A streaming request goes on to the stream multiplexer behind this handler.
///
/// Bounded as a stream channel is: a body over `maxMessageSize` is answered with a 413 at once and
/// the rest of it dropped as it comes, a request not complete `requestReadTimeout` after its head is
/// reset (CANCEL), and the streams in flight by the connection's SETTINGS_MAX_CONCURRENT_STREAMS.
/// Touched on the connection's event loop only.
final class HTTP2ExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// One request being read or answered.
    private struct Exchange {
        enum Phase {
            case reading, answering
            /// Refused (413, sent): what is left of the body is dropped as it comes.
            case discarding
        }
        var head: HTTPRequestHead
        var body = ByteBuffer()
        var phase = Phase.reading
        var deadline: Scheduled<Void>?
        var task: Task<Void, Never>?

        mutating func append(_ chunk: inout ByteBuffer) {
            if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
        }
    }

    private let responder: any HTTPResponder
    private let maxMessageSize: Int
    private let connection: TrackedConnection
    private let requestReadTimeout: TimeAmount
    private let peerIdentity: String?
    private var executor: EventLoopTaskExecutor?
    private var context: ChannelHandlerContext?
    private var exchanges: [HTTP2StreamID: Exchange] = [:]
    /// The highest stream the peer opened: a HEADERS frame on a higher one opens a stream; any
    /// other frame belongs to a stream already decided.
    private var lastOpened = HTTP2StreamID.rootStream
    /// The open streams the multiplexer serves (their frames go on to it); a frame of a stream that
    /// is in neither this nor `exchanges` is of one of ours already answered (a late WINDOW_UPDATE
    /// or RST_STREAM) and stops here, as the multiplexer would take it for a protocol error.
    private var passed = Set<HTTP2StreamID>()
    /// Inside `channelRead`: writes are flushed once, when the read completes.
    private var reading = false
    private var flushPending = false
    /// Requests whose head came in this read without their end: timed from the read's end (most
    /// requests end in the read that brought their head, and schedule nothing).
    private var untimed: [HTTP2StreamID] = []

    /// The stream window this handler keeps open for a request body (the peer's default).
    static let streamWindow = 65535

    init(responder: any HTTPResponder, maxMessageSize: Int, connection: TrackedConnection, requestReadTimeout: TimeAmount,
         peerIdentity: String?) {
        self.responder = responder
        self.maxMessageSize = maxMessageSize
        self.connection = connection
        self.requestReadTimeout = requestReadTimeout
        self.peerIdentity = peerIdentity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        executor = EventLoopTaskExecutor.of(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        dropAll()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        dropAll()
        context.fireChannelInactive()
    }

    // MARK: Frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        if exchanges[id] != nil {
            take(frame.payload, on: id, context: context)
            return
        }
        guard id > lastOpened, case .headers(let headers) = frame.payload else {
            if id == .rootStream || passed.contains(id) || id > lastOpened { context.fireChannelRead(data) }
            return
        }
        lastOpened = id
        // A request whose head cannot be read, or that streams, is the multiplexer's (and its codec's).
        guard let head = Self.requestHead(headers.headers, endStream: headers.endStream), responder.streamPlan(for: head) == nil else {
            passed.insert(id)
            context.fireChannelRead(data)
            return
        }
        connection.setBusy(true)
        exchanges[id] = Exchange(head: head)
        if headers.endStream {
            complete(id, context: context)
            return
        }
        untimed.append(id)
        if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > maxMessageSize {
            refuseTooLarge(declared, on: id, context: context)
        }
    }

    /// A frame of a request being read (or answered: then only a reset matters).
    private func take(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        switch payload {
        case .data(let data):
            guard let phase = exchanges[id]?.phase else { return }
            guard phase == .reading else {
                if phase == .discarding, data.endStream { drop(id) }
                return
            }
            guard case .byteBuffer(var chunk) = data.data else {
                reset(id, code: .internalError)
                return
            }
            let size = (exchanges[id]?.body.readableBytes ?? 0) + chunk.readableBytes
            guard size <= maxMessageSize else {
                refuseTooLarge(size, on: id, context: context)
                if data.endStream { drop(id) }
                return
            }
            exchanges[id]?.append(&chunk)
            if data.endStream { complete(id, context: context) }
        case .headers(let trailers):
            // Trailers end the request; a second head does not.
            if !trailers.endStream {
                reset(id, code: .protocolError)
            } else if exchanges[id]?.phase == .discarding {
                drop(id)
            } else {
                complete(id, context: context)
            }
        case .rstStream:
            drop(id)
        default:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let closed as StreamClosedEvent:
            // NIO's handler closed one of ours (a protocol error on it): nothing is answered.
            if exchanges[closed.streamID] != nil { drop(closed.streamID) }
            passed.remove(closed.streamID)
        case let window as NIOHTTP2WindowUpdatedEvent where exchanges[window.streamID] != nil:
            // The body is read as it comes (and bounded): the stream's window is opened again once half used.
            if let size = window.inboundWindowSize, size <= Self.streamWindow / 2 {
                let update = HTTP2Frame(streamID: window.streamID, payload: .windowUpdate(windowSizeIncrement: Self.streamWindow - size))
                context.write(wrapOutboundOut(update), promise: nil)
                flush(context)
            }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if !untimed.isEmpty {
            let loop = context.eventLoop
            let bound = NIOLoopBound(self, eventLoop: loop)
            for id in untimed where exchanges[id].map({ $0.phase != .answering && $0.deadline == nil }) ?? false {
                exchanges[id]?.deadline = loop.scheduleTask(in: requestReadTimeout) { bound.value.reset(id, code: .cancel) }
            }
            untimed.removeAll(keepingCapacity: true)
        }
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    // MARK: Answers

    /// The request is whole: answered by a task that starts right here on the event loop (a handler
    /// that does not suspend is answered before `channelRead` returns).
    private func complete(_ id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard var exchange = exchanges[id], exchange.phase == .reading else { return }
        exchange.deadline?.cancel()
        exchange.deadline = nil
        exchange.phase = .answering
        exchanges[id] = exchange
        let responder = self.responder, peer = peerIdentity
        let head = exchange.head, body = exchange.body
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let task = Task.immediate(executorPreference: executor) {
            let response = await responder.respond(head, body: body, peerIdentity: peer)
            if loop.inEventLoop {
                bound.value.answer(id, response)
            } else {
                loop.execute { bound.value.answer(id, response) }
            }
        }
        // Still there unless answered already.
        if exchanges[id] != nil { exchanges[id]?.task = task }
    }

    private func answer(_ id: HTTP2StreamID, _ response: HTTPFullResponse) {
        guard exchanges[id]?.phase == .answering, let exchange = exchanges.removeValue(forKey: id), let context else { return }
        connection.setBusy(false)
        write(response, for: exchange.head, on: id, context: context)
    }

    private func write(_ response: HTTPFullResponse, for head: HTTPRequestHead, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        let hasBody = response.body.readableBytes > 0 && head.method != .HEAD
        var headers = HPACKHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        headers.add(name: ":status", value: String(response.status.code))
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if !Self.connectionSpecific.contains(lower) { headers.add(name: lower, value: value) }
        }
        headers.add(name: "content-length", value: String(response.body.readableBytes))
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: !hasBody)))), promise: nil)
        if hasBody {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(response.body), endStream: true)))),
                          promise: nil)
        }
        flush(context)
    }

    /// 413 for a body over the limit, at once; the rest of the body is dropped as it comes (the
    /// caller finishes sending and reads the answer), still within the read timeout.
    private func refuseTooLarge(_ size: Int, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard var exchange = exchanges[id], exchange.phase == .reading else { return }
        exchange.phase = .discarding
        exchange.body = ByteBuffer()
        exchanges[id] = exchange
        connection.setBusy(false)
        let error = MicroError.tooLarge("go.micro.server", "request of \(size) bytes exceeds the limit of \(maxMessageSize) bytes")
        write(responder.refusal(error, for: exchange.head), for: exchange.head, on: id, context: context)
    }

    /// Resets a stream of ours: its request is dropped unanswered.
    private func reset(_ id: HTTP2StreamID, code: HTTP2ErrorCode) {
        guard exchanges[id] != nil, let context else { return }
        drop(id)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(code))), promise: nil)
        flush(context)
    }

    /// Forgets a stream of ours: its deadline is off, its handler cancelled.
    private func drop(_ id: HTTP2StreamID) {
        guard let exchange = exchanges.removeValue(forKey: id) else { return }
        exchange.deadline?.cancel()
        exchange.task?.cancel()
        if exchange.phase != .discarding { connection.setBusy(false) }
    }

    private func dropAll() {
        for id in Array(exchanges.keys) { drop(id) }
    }

    private func flush(_ context: ChannelHandlerContext) {
        if reading { flushPending = true } else { context.flush() }
    }

    // MARK: Headers

    /// HTTP/1's connection-specific fields, which HTTP/2 forbids (RFC 9113 §8.2.2).
    static let connectionSpecific: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]

    /// The request head of a stream's HEADERS block, as NIO's HTTP/2-to-HTTP/1 codec makes it (Host
    /// from `:authority`; a body without `content-length` marked chunked); nil without the pseudo-headers.
    static func requestHead(_ block: HPACKHeaders, endStream: Bool) -> HTTPRequestHead? {
        var method: String?, path: String?, authority: String?
        var headers: [(String, String)] = []
        headers.reserveCapacity(block.count)
        var hasHost = false, hasLength = false
        for (name, value, _) in block {
            if name.utf8.first == UInt8(ascii: ":") {
                switch name {
                case ":method": method = value
                case ":path": path = value
                case ":authority": authority = value
                default: break
                }
                continue
            }
            if name == "host" { hasHost = true }
            if name == "content-length" { hasLength = true }
            headers.append((name, value))
        }
        guard let method, let path else { return nil }
        if !hasHost, let authority { headers.insert(("host", authority), at: 0) }
        let httpMethod = HTTPMethod(rawValue: method)
        switch httpMethod {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE:
            break
        default:
            if !hasLength { headers.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
        }
        return HTTPRequestHead(version: .http2, method: httpMethod, uri: path, headers: HTTPHeaders(headers))
    }
}
