import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix

/// How a ``GRPCServerTransport`` serves: limits, TLS, the standard services.
public struct GRPCServerConfiguration: Sendable {
    /// The largest request message accepted; larger ones fail the call with RESOURCE_EXHAUSTED (default 4 MiB).
    public var maxRequestMessageSize: Int
    /// The largest response message sent; a handler sending more fails the call with RESOURCE_EXHAUSTED (default 4 MiB).
    public var maxResponseMessageSize: Int
    /// Streams one connection may have open at once (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`); more are refused.
    public var maxConcurrentStreams: Int
    /// Plaintext (h2c), TLS or mTLS.
    public var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity
    /// Serve `grpc.health.v1.Health` from the router's health.
    public var healthService: Bool
    /// How often health `Watch` streams look at the router's health for changes.
    public var healthWatchInterval: Duration
    /// Serve server reflection (`grpc.reflection.v1` and `v1alpha`).
    public var reflection: Bool
    /// Serialized `google.protobuf.FileDescriptorSet`s of the protobuf services served, for
    /// reflection (the ones this module generates and the router's ``MicroCore/Router/descriptorSets`` are always included).
    public var descriptorSets: [[UInt8]]
    /// The rest of grpc-swift's HTTP/2 server configuration (keepalive, idle and age limits, compression).
    public var http2: HTTP2ServerTransport.Posix.Config
    /// The event loops connections run on.
    public var eventLoopGroup: MultiThreadedEventLoopGroup
    /// A connection with no call in flight for this long is closed (nil: never). grpc-swift's
    /// `http2.connection.maxIdleTime` only asks the peer to go (GOAWAY) and waits for its answer.
    public var idleConnectionTimeout: Duration?

    /// The defaults: 4 MiB messages each way, 256 streams per connection, idle connections closed
    /// after 60 s, plaintext, health and reflection on.
    public init(maxRequestMessageSize: Int = 4 << 20, maxResponseMessageSize: Int = 4 << 20, maxConcurrentStreams: Int = 256,
                transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity = .plaintext,
                healthService: Bool = true, healthWatchInterval: Duration = .seconds(1), reflection: Bool = true,
                descriptorSets: [[UInt8]] = [], http2: HTTP2ServerTransport.Posix.Config = .defaults,
                eventLoopGroup: MultiThreadedEventLoopGroup = .singleton, idleConnectionTimeout: Duration? = .seconds(60)) {
        self.maxRequestMessageSize = maxRequestMessageSize
        self.maxResponseMessageSize = maxResponseMessageSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.transportSecurity = transportSecurity
        self.healthService = healthService
        self.healthWatchInterval = healthWatchInterval
        self.reflection = reflection
        self.descriptorSets = descriptorSets
        self.http2 = http2
        self.eventLoopGroup = eventLoopGroup
        self.idleConnectionTimeout = idleConnectionTimeout
    }
}
