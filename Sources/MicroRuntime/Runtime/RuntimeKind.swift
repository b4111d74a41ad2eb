/// Which runtime runs a service: a supervised Linux process (the default), its image in a podman
/// container (both under the same supervisor: restarts, backoff, crash-loop limit, adoption), or its
/// image pushed to a registry and run by Kubernetes as a Deployment (Kubernetes restarts its pods).
public enum RuntimeKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// The executable run as a process of its own.
    case process
    /// A statically linked build in an OCI image, run with podman (`--network host`).
    case container
    /// A statically linked build in an OCI image pushed to ``RuntimeOptions/imageRegistry``, run as a
    /// Deployment and a Service by the runtime's ``ClusterRuntime`` (Kubernetes).
    case kubernetes

    public var description: String { rawValue }

    /// Whether the service runs from an OCI image (a `--static-swift-stdlib` build packaged with buildah).
    var usesImage: Bool { self != .process }
}
