import NIOSSL

/// How a ``NATSConnection`` connects, authenticates, reconnects and bounds its buffers.
public struct NATSOptions: Sendable {
    /// The servers to try, in order: `nats://host:port`, `tls://host:port` or `host:port`; `user:pass@` or `token@` accepted.
    public var servers: [String]
    /// The connection name sent in `CONNECT` (shown by the server's monitoring).
    public var name: String?
    /// The user name (overrides one in a server URL).
    public var user: String?
    /// The password (overrides one in a server URL).
    public var password: String?
    /// The authorization token (overrides one in a server URL).
    public var token: String?
    /// TLS settings; when set (or with a `tls://` URL, or when the server requires it) the connection upgrades after `INFO`.
    public var tls: TLSConfiguration?
    /// TLS settings for when TLS happens without ``tls`` (a `tls://` URL, or a server that requires it);
    /// unlike ``tls`` they do not ask for TLS. Without either, the default client configuration (system roots).
    public var tlsWhenRequired: TLSConfiguration?
    /// The name the server's certificate is checked against and sent as SNI (nil: the URL's host; an IP
    /// address is checked against the certificate's IP addresses).
    public var tlsServerName: String?
    /// Whether a lost connection is re-established.
    public var reconnect: Bool = true
    /// How many reconnect attempts in a row before giving up and closing; `nil` tries forever.
    public var maxReconnectAttempts: Int? = nil
    /// The base of the reconnect backoff (exponential with full jitter).
    public var reconnectWait: Duration = .milliseconds(200)
    /// The cap of the reconnect backoff.
    public var reconnectWaitMax: Duration = .seconds(2)
    /// How long one attempt may take from TCP connect to the server's answer to `CONNECT`.
    public var connectTimeout: Duration = .seconds(2)
    /// How often the client pings the server to detect a dead connection.
    public var pingInterval: Duration = .seconds(20)
    /// How many pings may go unanswered before the connection is considered dead.
    public var maxPingsOut: Int = 2
    /// Bytes of publishes held while disconnected; past it, ``NATSConnection/publish(_:payload:headers:replyTo:)`` throws ``NATSError/Code/reconnectBufferExceeded``.
    public var reconnectBufferSize: Int = 8 * 1024 * 1024
    /// The high-water mark of publishes waiting for the socket while connected: once this many bytes wait (the socket
    /// is slower than the publishers), ``NATSConnection/publish(_:payload:headers:replyTo:)`` suspends until they
    /// were handed to it (backpressure; nothing is refused). Requests wait for room the same way.
    public var maxOutboundBytes: Int = 2 * 1024 * 1024
    /// Messages one subscription holds before dropping (slow consumer).
    public var pendingMessagesLimit: Int = 65_536
    /// Payload bytes one subscription holds before dropping (slow consumer).
    public var pendingBytesLimit: Int = 64 * 1024 * 1024
    /// The longest control line accepted from the server.
    public var maxControlLineSize: Int = 4096
    /// The prefix of inbox subjects made by ``NATSConnection/newInbox()``.
    public var inboxPrefix: String = "_INBOX"

    /// Options for the given servers, with defaults for everything else.
    public init(servers: [String] = ["nats://127.0.0.1:4222"]) {
        self.servers = servers
    }
}
