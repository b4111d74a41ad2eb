/// Where and how the Kubernetes runtime reaches the API server: its URL, a bearer token (a service
/// account's, or a file holding it, read again on every call as the kubelet rotates it), the CA that
/// signs its certificate, the namespace it works in, and its limits.
public struct KubernetesConfiguration: Sendable {
    /// The API server, `https://host:port` or `http://host:port` (no trailing slash needed).
    public var server: String
    /// The bearer token sent with every call; nil sends none (or ``tokenFile``'s).
    public var token: String?
    /// A file holding the bearer token (a service account's in a pod), read on every call; used when ``token`` is nil.
    public var tokenFile: String?
    /// A PEM file of the CA certificates the API server's certificate is checked against (nil: the system's).
    public var caFile: String?
    /// The namespace Deployments and Services are made in.
    public var namespace: String
    /// The longest one call may take.
    public var requestTimeout: Duration
    /// How often a Deployment's status is read while waiting for it to be ready.
    public var pollInterval: Duration
    /// The largest answer read.
    public var maxResponseBytes: Int

    /// A configuration; the defaults: namespace `default`, 10 s per call, status read every 0.5 s, answers up to 8 MiB.
    public init(server: String, token: String? = nil, tokenFile: String? = nil, caFile: String? = nil, namespace: String = "default",
                requestTimeout: Duration = .seconds(10), pollInterval: Duration = .milliseconds(500), maxResponseBytes: Int = 8 << 20) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        self.tokenFile = tokenFile
        self.caFile = caFile
        self.namespace = namespace
        self.requestTimeout = requestTimeout
        self.pollInterval = pollInterval
        self.maxResponseBytes = maxResponseBytes
    }
}
