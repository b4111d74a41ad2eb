/// How `micro api` serves: where it listens, how big and how long a call may be, and who may call it.
public struct GatewayConfiguration: Sendable {
    /// The address listened on (loopback by default).
    public var host: String
    /// The port listened on; 0 picks a free one.
    public var port: Int
    /// Prefixes every service resolved from a path (`go.micro.api` in go-micro's defaults; none here).
    public var namespace: String
    /// The largest request body accepted; larger ones get 413.
    public var maxBodySize: Int
    /// How long one call (or the whole of a stream) may take before the caller gets 408.
    public var callTimeout: Duration
    /// How long a request may take to arrive, head and body, before the connection is closed (slow
    /// clients); on a kept-alive connection, the next request must arrive whole within it too.
    public var requestReadTimeout: Duration
    /// Which browser origins may call.
    public var cors: CORSPolicy
    /// The largest message a caller may send on a WebSocket stream (and the largest frame either way).
    public var maxStreamMessageSize: Int = 64 << 10
    /// The most messages a caller may send on one WebSocket stream.
    public var maxStreamMessages: Int = 10_000

    /// Loopback on port 8080, 1 MiB bodies, 5 s calls (go-micro's default), 10 s to send a request, no CORS.
    public init(host: String = "127.0.0.1", port: Int = 8080, namespace: String = "", maxBodySize: Int = 1 << 20,
                callTimeout: Duration = .seconds(5), requestReadTimeout: Duration = .seconds(10), cors: CORSPolicy = .none) {
        self.host = host
        self.port = port
        self.namespace = namespace
        self.maxBodySize = maxBodySize
        self.callTimeout = callTimeout
        self.requestReadTimeout = requestReadTimeout
        self.cors = cors
    }
}
