/// Limits and timeouts of the HTTP transport, for both its server and its client.
public struct HTTPTransportConfiguration: Sendable {
    /// The largest message accepted or sent, each way (go-micro's default: 4 MiB).
    public var maxMessageSize: Int
    /// A keep-alive connection with no request for this long is closed.
    public var idleTimeout: Duration
    /// A request must arrive in full within this long of its first byte (slow or trickling clients are cut off).
    public var requestReadTimeout: Duration
    /// How long the client waits to connect.
    public var connectTimeout: Duration
    /// Most pooled connections the client keeps open to one address.
    public var maxIdleConnectionsPerHost: Int
    /// Most connections the server serves at once; further ones are closed on accept.
    public var maxConnections: Int
    /// The client speaks HTTP/2 (h2c with prior knowledge, or h2 by ALPN over TLS): one connection per
    /// address, a stream per call. Servers always accept both HTTP/1.1 and HTTP/2 on the same port.
    public var http2: Bool
    /// TLS for serving and calling (made by `MicroTLS`); nil: plaintext both ways.
    public var security: HTTPTransportSecurity?

    /// The defaults: 4 MiB messages, 60 s idle, 30 s to read a request, 2 s to connect.
    public init(maxMessageSize: Int = 4 * 1024 * 1024, idleTimeout: Duration = .seconds(60), requestReadTimeout: Duration = .seconds(30),
                connectTimeout: Duration = .seconds(2), maxIdleConnectionsPerHost: Int = 64, maxConnections: Int = 10_000,
                http2: Bool = false, security: HTTPTransportSecurity? = nil) {
        self.maxMessageSize = maxMessageSize
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
        self.connectTimeout = connectTimeout
        self.maxIdleConnectionsPerHost = maxIdleConnectionsPerHost
        self.maxConnections = maxConnections
        self.http2 = http2
        self.security = security
    }
}
