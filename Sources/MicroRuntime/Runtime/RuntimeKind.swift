/// Which runtime runs a service: a supervised Linux process (the default) or its image in a podman
/// container; both under the same supervisor (restarts, backoff, crash-loop limit, adoption).
public enum RuntimeKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// The executable run as a process of its own.
    case process
    /// A statically linked build in an OCI image, run with podman (`--network host`).
    case container

    public var description: String { rawValue }
}
