import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Runs a Hummingbird application for a responder on `host:port`, with the slow-client guard.
enum HTTPApplication {
    static func run<Responder: HTTPResponder>(responder: Responder, host: String, port: Int, readTimeout: Duration, logger: Logger,
                                              onRunning: @escaping @Sendable (String) async -> Void) async throws
        where Responder.Context == BasicRequestContext {
        let timeout = TimeAmount(readTimeout)
        let app = Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [RequestReadTimeoutHandler(timeout: timeout)],
                                                idleTimeout: timeout)),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                await onRunning("\(host):\(channel.localAddress?.port ?? port)")
            },
            logger: logger)
        try await app.run()
    }
}

