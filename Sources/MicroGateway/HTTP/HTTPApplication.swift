import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// Runs a Hummingbird application for a responder on `host:port`, with the slow-client guards, and
/// WebSocket streams when a bridge is given.
enum HTTPApplication {
    static func run<Responder: HTTPResponder>(responder: Responder, host: String, port: Int, readTimeout: Duration, logger: Logger,
                                              webSocket: WebSocketStreamBridge? = nil,
                                              onRunning: @escaping @Sendable (String) async -> Void) async throws
        where Responder.Context == BasicRequestContext {
        let app = Application(
            responder: responder,
            server: server(readTimeout: TimeAmount(readTimeout), webSocket: webSocket),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                await onRunning("\(host):\(channel.localAddress?.port ?? port)")
            },
            logger: CancellationQuietLogHandler.wrapping(logger))
        try await app.run()
    }

    /// HTTP/1.1 whose requests must arrive within `timeout` (and idle connections close after it);
    /// with a bridge, GET requests asking for `Upgrade: websocket` become streams.
    static func server(readTimeout timeout: TimeAmount, webSocket: WebSocketStreamBridge?) -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [RequestReadTimeoutHandler(timeout: timeout)], idleTimeout: timeout)
        guard let webSocket else {
            return HTTPServerBuilder { responder in LoopBoundChildChannel(inner: HTTP1Channel(responder: responder, configuration: http1)) }
        }
        let limits = webSocket.caller.configuration
        let ws = WebSocketServerConfiguration(maxFrameSize: limits.maxStreamMessageSize, autoPing: .enabled(timePeriod: .seconds(30)),
                                              closeTimeout: .seconds(5), validateUTF8: true)
        return HTTPServerBuilder { responder in
            LoopBoundChildChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(http1: http1, ws: ws)) { head, _, _ in
                    guard let route = webSocket.route(for: head) else { return .dontUpgrade }
                    let authorization = head.headerFields[.authorization]
                    return .upgrade([:]) { inbound, outbound, _ in
                        try await webSocket.serve(route, authorization: authorization, inbound: inbound, outbound: outbound)
                    }
                },
                firstHeadTimeout: timeout)
        }
    }
}
