import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix

/// How a ``GRPCClientTransport`` calls: limits, TLS, connections.
public struct GRPCClientConfiguration: Sendable {
    /// The largest request message sent; a larger one fails locally, unsent (default 4 MiB, as go-micro).
    public var maxRequestMessageSize: Int
    /// The largest response message accepted; a larger one fails the call with RESOURCE_EXHAUSTED (default 4 MiB).
    public var maxResponseMessageSize: Int
    /// Plaintext (h2c), TLS or mTLS.
    public var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity
    /// The rest of grpc-swift's HTTP/2 client configuration (keepalive, idle time, backoff, compression).
    public var http2: HTTP2ClientTransport.Posix.Config
    /// The event loops connections run on.
    public var eventLoopGroup: any EventLoopGroup

    /// The defaults: 4 MiB messages each way, plaintext.
    public init(maxRequestMessageSize: Int = 4 << 20, maxResponseMessageSize: Int = 4 << 20,
                transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
                http2: HTTP2ClientTransport.Posix.Config = .defaults,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.maxRequestMessageSize = maxRequestMessageSize
        self.maxResponseMessageSize = maxResponseMessageSize
        self.transportSecurity = transportSecurity
        self.http2 = http2
        self.eventLoopGroup = eventLoopGroup
    }
}
