import Logging
import MicroAddress
import MicroCore
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// A SwiftNIO server for an ``HTTPResponder``: HTTP/1.1 with keep-alive, and HTTP/2 (h2c with prior
/// knowledge, or h2 over TLS) on the same port, TLS when configured; bounded message sizes, idle and
/// slow-request timeouts, a connection limit, and graceful shutdown.
final class HTTPServer: Sendable {
    let configuration: HTTPTransportConfiguration
    let logger: Logger
    let address: String
    private let serverChannel: any Channel
    private let tracker: ConnectionTracker

    private init(configuration: HTTPTransportConfiguration, logger: Logger, serverChannel: any Channel, address: String, tracker: ConnectionTracker) {
        self.configuration = configuration
        self.logger = logger
        self.serverChannel = serverChannel
        self.address = address
        self.tracker = tracker
    }

    /// Connections accepted so far, and open now (for tests).
    var acceptedConnections: Int { tracker.accepted }
    var openConnections: Int { tracker.count }
    /// Some connection is answering a request (for tests).
    var isBusy: Bool { tracker.hasBusy }

    /// Binds `host:port` (port 0: any free port).
    static func bind(host: String, port: Int, configuration: HTTPTransportConfiguration, responder: any HTTPResponder,
                     logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPServer {
        let tracker = ConnectionTracker()
        let idle = TimeAmount(configuration.idleTimeout)
        let readTimeout = TimeAmount(configuration.requestReadTimeout)
        let security = configuration.security
        let makeHandler: @Sendable (TrackedConnection, ConnectionTimer?, String?) -> HTTPServerHandler = { connection, timer, peer in
            HTTPServerHandler(responder: responder, maxMessageSize: configuration.maxMessageSize, connection: connection,
                              timer: timer, requestReadTimeout: readTimeout, peerIdentity: peer, logger: logger)
        }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Out of file descriptors (EMFILE), accept fails at once and would be retried at once,
            // spinning a core: wait a moment instead, serving the open connections meanwhile.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptBackoff()) }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Counted from accept: over the limit, or while draining, the connection is closed at once.
                    guard let connection = tracker.add(channel, limit: configuration.maxConnections) else {
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in tracker.remove(connection.id) }
                    // TLS first: the protocol is told from the decrypted bytes (ALPN offers h2 and
                    // http/1.1; the preface decides), and the handshake counts in the detector's timeout.
                    if let server = security?.server { try server(channel) }
                    // The client certificate's identity, once the handshake is done (application bytes came).
                    let peer: @Sendable (any Channel) -> String? = { channel in security?.peerIdentity(channel) }
                    // Until the protocol is known, a connection that says nothing is cut off after the shorter timeout.
                    let detector = ProtocolDetector(timeout: min(readTimeout, idle), http1: { channel in
                        let timer = ConnectionTimer(readTimeout: readTimeout, idleTimeout: idle)
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(RequestStartHandler(timer: timer))
                        try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                        try sync.addHandler(makeHandler(connection, timer, peer(channel)))
                    }, http2: { channel in
                        let identity = peer(channel)
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(IdleStateHandler(allTimeout: idle))
                        try sync.addHandler(IdleCloseHandler())
                        // Whole-message requests are answered on the connection itself; streaming
                        // ones get a stream channel each (the multiplexer behind).
                        try sync.addHandler(NIOHTTP2Handler(mode: .server))
                        try sync.addHandler(HTTP2ExchangeHandler(responder: responder, maxMessageSize: configuration.maxMessageSize,
                                                                 connection: connection, requestReadTimeout: readTimeout, peerIdentity: identity))
                        try sync.addHandler(HTTP2StreamMultiplexer(mode: .server, channel: channel, inboundStreamInitializer: { stream in
                            stream.eventLoop.makeCompletedFuture {
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                try stream.pipeline.syncOperations.addHandler(makeHandler(connection, nil, identity))
                            }
                        }))
                        // After a connection error NIO's HTTP/2 handler sends GOAWAY but leaves the
                        // connection open, reading (and buffering) whatever the peer sends: close it.
                        try sync.addHandler(CloseOnErrorHandler())
                    })
                    try channel.pipeline.syncOperations.addHandler(detector)
                }
            }
            .bind(host: host, port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        return HTTPServer(configuration: configuration, logger: logger, serverChannel: channel,
                          address: HostPort(host: host, port: boundPort).description, tracker: tracker)
    }

    /// Serves until ``shutdown(gracePeriod:)`` (or cancellation) closes the listening socket.
    func run() async {
        let channel = serverChannel
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Stops accepting, closes idle connections, waits up to `gracePeriod` for busy ones, then closes the rest.
    func shutdown(gracePeriod: Duration) async {
        tracker.drain()
        try? await serverChannel.close()
        let deadline = ContinuousClock.now + gracePeriod
        while tracker.hasBusy && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        tracker.closeAll()
    }
}
