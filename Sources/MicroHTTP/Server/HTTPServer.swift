import Logging
import MicroCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// A SwiftNIO HTTP/1.1 server with keep-alive, bounded message sizes, idle and slow-request timeouts,
/// and graceful shutdown; the protocol it serves is an ``HTTPResponder``.
final class HTTPServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    let configuration: HTTPTransportConfiguration
    let responder: any HTTPResponder
    let logger: Logger
    let address: String
    private let serverChannel: NIOAsyncChannel<Connection, Never>
    private let tracker = ConnectionTracker()

    private init(configuration: HTTPTransportConfiguration, responder: any HTTPResponder, logger: Logger,
                 serverChannel: NIOAsyncChannel<Connection, Never>, address: String) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.serverChannel = serverChannel
        self.address = address
    }

    /// Connections accepted so far, and open now (for tests).
    var acceptedConnections: Int { tracker.accepted }
    var openConnections: Int { tracker.count }

    /// Binds `host:port` (port 0: any free port).
    static func bind(host: String, port: Int, configuration: HTTPTransportConfiguration, responder: any HTTPResponder,
                     logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPServer {
        let idle = TimeAmount(configuration.idleTimeout)
        let readTimeout = TimeAmount(configuration.requestReadTimeout)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let timer = RequestTimer(timeout: readTimeout)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RequestStartHandler(timer: timer))
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try sync.addHandler(IdleStateHandler(allTimeout: idle))
                    try sync.addHandler(RequestEndHandler(timer: timer))
                    return try Connection(wrappingChannelSynchronously: channel,
                                          configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16)))
                }
            }
        let local = channel.channel.localAddress
        let boundPort = local?.port ?? port
        return HTTPServer(configuration: configuration, responder: responder, logger: logger, serverChannel: channel,
                          address: "\(host):\(boundPort)")
    }

    /// Accepts and serves connections until shut down; returns when every connection has closed.
    func run() async {
        await withDiscardingTaskGroup { group in
            do {
                try await serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            } catch {
                logger.debug("accept loop ended", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Stops accepting, closes idle connections, waits up to `gracePeriod` for busy ones, then closes the rest.
    func shutdown(gracePeriod: Duration) async {
        tracker.drain()
        try? await serverChannel.channel.close()
        let deadline = ContinuousClock.now + gracePeriod
        while tracker.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        tracker.closeAll()
    }

    private func serve(_ connection: Connection) async {
        guard let id = tracker.add(connection.channel, limit: configuration.maxConnections) else {
            try? await connection.channel.close()
            return
        }
        defer { tracker.remove(id) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                let parts = PartIterator(inbound.makeAsyncIterator())
                while let part = try await parts.next() {
                    guard case .head(let head) = part else { continue }
                    tracker.setBusy(id, true)
                    let keepAlive: Bool
                    if responder.isStreaming(head) {
                        keepAlive = try await serveStream(head, parts: parts, outbound: outbound, channel: connection.channel)
                    } else {
                        keepAlive = try await serveWhole(head, parts: parts, outbound: outbound)
                    }
                    tracker.setBusy(id, false)
                    if !keepAlive || tracker.isDraining { return }
                }
            }
        } catch {
            logger.trace("connection closed", metadata: ["error": "\(error)"])
        }
    }

    /// Reads a whole request (bounded), answers it; returns whether the connection stays open.
    private func serveWhole(_ head: HTTPRequestHead, parts: PartIterator, outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws -> Bool {
        let limit = configuration.maxMessageSize
        if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > limit {
            try await write(tooLarge(declared), head: head, keepAlive: false, outbound: outbound)
            return false
        }
        var body = ByteBuffer()
        while let part = try await parts.next() {
            switch part {
            case .body(var chunk):
                guard body.readableBytes + chunk.readableBytes <= limit else {
                    try await write(tooLarge(body.readableBytes + chunk.readableBytes), head: head, keepAlive: false, outbound: outbound)
                    return false
                }
                if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
            case .end:
                let response = await responder.respond(head, body: body)
                let keepAlive = head.isKeepAlive && !tracker.isDraining
                try await write(response, head: head, keepAlive: keepAlive, outbound: outbound)
                return keepAlive
            case .head:
                throw TransportError(.protocolViolation, address: address, detail: "request head inside a request")
            }
        }
        return false
    }

    private func tooLarge(_ size: Int) -> HTTPFullResponse {
        let error = MicroError.tooLarge("go.micro.server", "request of \(size) bytes exceeds the limit of \(configuration.maxMessageSize) bytes")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Micro-Error", value: error.json)
        return HTTPFullResponse(status: .payloadTooLarge, headers: headers, body: ByteBuffer(string: error.json))
    }

    private func write(_ response: HTTPFullResponse, head: HTTPRequestHead, keepAlive: Bool,
                       outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: headers)
        try await outbound.write(contentsOf: [.head(responseHead), .body(.byteBuffer(response.body)), .end(nil)])
    }

    /// Serves a streaming request; returns whether the connection stays open.
    private func serveStream(_ head: HTTPRequestHead, parts: PartIterator, outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
                             channel: any Channel) async throws -> Bool {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: head.headers.first(name: "Content-Type") ?? "application/json")
        headers.add(name: "Micro-Stream", value: "true")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers)))
        let reader = StreamReadState(parts: parts, maxMessageSize: configuration.maxMessageSize)
        let inbound = MessageReader { try await reader.nextMessage() }
        let writer = MessageWriter { message in
            try await outbound.write(.body(.byteBuffer(StreamFrame.encode(.message, message))))
        }
        let responder = self.responder
        // The handler runs beside a watcher of the connection: a caller that vanishes cancels the handler.
        let error: MicroError? = await withTaskGroup(of: StreamOutcome.self) { group in
            group.addTask { .finished(await responder.respondStreaming(head, inbound: inbound, outbound: writer)) }
            group.addTask {
                // Ends when the connection closes, or when cancelled once the handler is done.
                let (closed, signal) = AsyncStream<Void>.makeStream()
                channel.closeFuture.whenComplete { _ in signal.finish() }
                for await _ in closed {}
                return .closed
            }
            let first = await group.next()!
            group.cancelAll()
            if case .finished(let e) = first { return e }
            return .unavailable("go.micro.server", "caller went away")
        }
        if !channel.isActive { return false }
        let terminal = error.map { StreamFrame.encode(.error, ByteBuffer(string: $0.json)) } ?? StreamFrame.encode(.end, ByteBuffer())
        try await outbound.write(contentsOf: [.body(.byteBuffer(terminal)), .end(nil)])
        // Read what is left of the request so the connection can serve the next one.
        let finished = try await reader.drain()
        return finished && head.isKeepAlive && !tracker.isDraining
    }
}

enum StreamOutcome: Sendable {
    case finished(MicroError?)
    case closed
}

/// The connection's request parts. Safety: one reader at a time — the connection loop, or the stream
/// handler while the loop waits for it.
final class PartIterator: @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    init(_ iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator) { self.iterator = iterator }
    func next() async throws -> HTTPServerRequestPart? { try await iterator.next() }
}

/// Reads a streaming request's frames. Safety: used by one task at a time, like ``PartIterator``.
final class StreamReadState: @unchecked Sendable {
    private let parts: PartIterator
    private var decoder: StreamFrameDecoder
    private var requestEnded = false
    private var streamEnded = false

    init(parts: PartIterator, maxMessageSize: Int) {
        self.parts = parts
        self.decoder = StreamFrameDecoder(maxMessageSize: maxMessageSize)
    }

    /// The next message; nil when the caller finished sending.
    func nextMessage() async throws -> ByteBuffer? {
        while true {
            if streamEnded { return nil }
            if let frame = try decoder.next() {
                switch frame.kind {
                case .message: return frame.payload
                case .end, .error: streamEnded = true; return nil
                }
            }
            if requestEnded {
                if decoder.pendingBytes > 0 { throw TransportError(.protocolViolation, address: "", detail: "stream ended inside a frame") }
                streamEnded = true
                return nil
            }
            switch try await parts.next() {
            case .body(let chunk): decoder.append(chunk)
            case .end: requestEnded = true
            case .head: throw TransportError(.protocolViolation, address: "", detail: "request head inside a stream")
            case nil: throw TransportError(.connectionClosed, address: "", detail: "caller closed the stream")
            }
        }
    }

    /// Skips to the end of the request; false if the connection ended first.
    func drain() async throws -> Bool {
        while !requestEnded {
            switch try await parts.next() {
            case .end: requestEnded = true
            case .body, .head: continue
            case nil: return false
            }
        }
        return true
    }
}
