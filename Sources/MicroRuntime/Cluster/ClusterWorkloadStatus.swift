/// How a service runs in a cluster, as `micro ps` shows it: the object that runs it, its image, and
/// how many of its instances are ready.
public struct ClusterWorkloadStatus: Sendable, Hashable, Codable {
    /// The service's name.
    public var name: String
    /// The object that runs it (`deployment/NAME` in namespace `namespace`).
    public var object: String
    /// The namespace (or any other scope) the object lives in.
    public var namespace: String
    /// The image it runs.
    public var image: String?
    /// Instances wanted.
    public var replicas: Int
    /// Instances ready.
    public var readyReplicas: Int
    /// Whether the latest spec is rolled out.
    public var ready: Bool

    /// A status.
    public init(name: String, object: String, namespace: String, image: String?, replicas: Int, readyReplicas: Int, ready: Bool) {
        self.name = name
        self.object = object
        self.namespace = namespace
        self.image = image
        self.replicas = replicas
        self.readyReplicas = readyReplicas
        self.ready = ready
    }
}
