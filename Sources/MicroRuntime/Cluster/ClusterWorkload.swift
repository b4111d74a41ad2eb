/// What a ``ClusterRuntime`` runs for one service: its pushed image, arguments, environment, replicas
/// and the port it serves on (Kubernetes: a Deployment of `replicas` pods of `image` and a Service on
/// `port`, with `MICRO_SERVER_ADDRESS=:PORT`).
public struct ClusterWorkload: Sendable, Hashable {
    /// The service's name.
    public var name: String
    /// Its version.
    public var version: String
    /// The image reference the cluster pulls (`REGISTRY/REPOSITORY:TAG@sha256:…`).
    public var image: String
    /// Arguments to the image's entrypoint.
    public var arguments: [String]
    /// Its environment.
    public var environment: [String: String]
    /// How many instances.
    public var replicas: Int
    /// The port it serves on.
    public var port: Int

    /// A workload; the defaults: version `latest`, no arguments or environment, 1 replica, port 8080.
    public init(name: String, version: String = "latest", image: String, arguments: [String] = [], environment: [String: String] = [:],
                replicas: Int = 1, port: Int = 8080) {
        self.name = name
        self.version = version
        self.image = image
        self.arguments = arguments
        self.environment = environment
        self.replicas = replicas
        self.port = port
    }
}
