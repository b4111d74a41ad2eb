/// What a server serves, as transports need to know it: the service's name, every endpoint with its
/// kind, and extensions for transport-specific facts. Transports read it instead of inspecting the
/// handler's type.
public struct ServerDescription: Sendable {
    /// One endpoint a server answers.
    public struct Endpoint: Sendable, Hashable {
        /// The endpoint name, `Service.Method`.
        public var name: String
        /// How it exchanges messages.
        public var kind: EndpointKind
        /// The endpoint's registry metadata (engines may add keys, e.g. a gRPC proto path).
        public var metadata: [String: String]

        /// Describes an endpoint.
        public init(name: String, kind: EndpointKind, metadata: [String: String] = [:]) {
            self.name = name
            self.kind = kind
            self.metadata = metadata
        }
    }

    /// The service name (the `id` of errors the server raises).
    public var service: String
    /// The endpoints, sorted by name.
    public var endpoints: [Endpoint]
    /// Whether the handler also answers endpoints it does not list (a proxy): a transport then
    /// passes any call through, as a stream when it cannot tell the kind.
    public var acceptsUnlistedEndpoints: Bool
    /// Transport-specific facts (see ``ExtensionKey``).
    public var extensions: Extensions

    /// Creates a description.
    public init(service: String, endpoints: [Endpoint] = [], acceptsUnlistedEndpoints: Bool = false,
                extensions: Extensions = Extensions()) {
        self.service = service
        self.endpoints = endpoints
        self.acceptsUnlistedEndpoints = acceptsUnlistedEndpoints
        self.extensions = extensions
    }
}
