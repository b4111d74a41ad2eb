/// A Micro service as the Kubernetes runtime runs it: a Deployment of `replicas` pods of `image`
/// and a Service in front of them on `port`, labelled `micro.mu/type: service` and by name and version.
public struct KubernetesService: Sendable, Hashable {
    /// The service's name: the Deployment's and the Service's (a DNS label: 1 to 63 of [a-z0-9-]).
    public var name: String
    /// Its version (a label value).
    public var version: String
    /// The image its pods run.
    public var image: String
    /// Arguments to the image's entrypoint.
    public var arguments: [String]
    /// Environment variables of its container.
    public var environment: [String: String]
    /// How many pods.
    public var replicas: Int
    /// The port it serves on (`MICRO_SERVER_ADDRESS` is set to `:PORT`), the Service's too.
    public var port: Int

    /// A service description.
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
