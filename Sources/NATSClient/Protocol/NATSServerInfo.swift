/// What the server says about itself in `INFO`.
public struct NATSServerInfo: Sendable, Hashable, Decodable {
    /// The server's unique id.
    public var serverID: String = ""
    /// The server's configured name.
    public var serverName: String = ""
    /// The server version.
    public var version: String = ""
    /// The Go version the server was built with.
    public var go: String = ""
    /// The host the server listens on.
    public var host: String = ""
    /// The port the server listens on.
    public var port: Int = 0
    /// Whether the server understands headers (`HPUB`/`HMSG`).
    public var headers: Bool = false
    /// The largest payload (headers included) the server accepts.
    public var maxPayload: Int = 1_048_576
    /// The protocol version.
    public var proto: Int = 0
    /// The server's id for this client.
    public var clientID: UInt64 = 0
    /// The client's address as the server sees it.
    public var clientIP: String = ""
    /// Whether the server requires credentials.
    public var authRequired: Bool = false
    /// Whether the server requires TLS.
    public var tlsRequired: Bool = false
    /// Whether the server verifies client certificates.
    public var tlsVerify: Bool = false
    /// Whether the server accepts TLS without requiring it.
    public var tlsAvailable: Bool = false
    /// Other servers of the cluster clients may connect to (`host:port`).
    public var connectURLs: [String] = []
    /// Whether the server is in lame duck mode (about to shut down).
    public var lameDuckMode: Bool = false
    /// The server's cluster name.
    public var cluster: String = ""
    /// Whether JetStream is enabled.
    public var jetStream: Bool = false
    /// The nonce to sign for NKey authentication.
    public var nonce: String = ""

    /// Info with defaults (before the server's `INFO` arrived).
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case serverID = "server_id", serverName = "server_name", version, go, host, port, headers
        case maxPayload = "max_payload", proto, clientID = "client_id", clientIP = "client_ip"
        case authRequired = "auth_required", tlsRequired = "tls_required", tlsVerify = "tls_verify"
        case tlsAvailable = "tls_available", connectURLs = "connect_urls", lameDuckMode = "ldm"
        case cluster, jetStream = "jetstream", nonce
    }

    /// Decodes the JSON of `INFO`; every field is optional.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try c.decodeIfPresent(String.self, forKey: .serverID) ?? ""
        serverName = try c.decodeIfPresent(String.self, forKey: .serverName) ?? ""
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        go = try c.decodeIfPresent(String.self, forKey: .go) ?? ""
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? ""
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? 0
        headers = try c.decodeIfPresent(Bool.self, forKey: .headers) ?? false
        maxPayload = try c.decodeIfPresent(Int.self, forKey: .maxPayload) ?? 1_048_576
        proto = try c.decodeIfPresent(Int.self, forKey: .proto) ?? 0
        clientID = try c.decodeIfPresent(UInt64.self, forKey: .clientID) ?? 0
        clientIP = try c.decodeIfPresent(String.self, forKey: .clientIP) ?? ""
        authRequired = try c.decodeIfPresent(Bool.self, forKey: .authRequired) ?? false
        tlsRequired = try c.decodeIfPresent(Bool.self, forKey: .tlsRequired) ?? false
        tlsVerify = try c.decodeIfPresent(Bool.self, forKey: .tlsVerify) ?? false
        tlsAvailable = try c.decodeIfPresent(Bool.self, forKey: .tlsAvailable) ?? false
        connectURLs = try c.decodeIfPresent([String].self, forKey: .connectURLs) ?? []
        lameDuckMode = try c.decodeIfPresent(Bool.self, forKey: .lameDuckMode) ?? false
        cluster = try c.decodeIfPresent(String.self, forKey: .cluster) ?? ""
        jetStream = try c.decodeIfPresent(Bool.self, forKey: .jetStream) ?? false
        nonce = try c.decodeIfPresent(String.self, forKey: .nonce) ?? ""
        if maxPayload <= 0 { maxPayload = 1_048_576 }
    }
}
