import Foundation

/// A service the runtime runs, as `micro ps` shows it and the runtime keeps it in its store: go-micro's
/// runtime service fields (name, version, source, metadata) and how it runs.
public struct RuntimeServiceStatus: Sendable, Hashable, Codable {
    /// The service's name (what it registers as).
    public var name: String
    /// Its version (the manifest's; else the commit's first 12 characters; else `latest`).
    public var version: String
    /// Where it came from, `SOURCE[@REF]`.
    public var source: String
    /// go-micro's free-form metadata.
    public var metadata: [String: String]
    /// Which runtime runs it: `process`, `container` or `kubernetes` (``RuntimeKind``).
    public var runtime: String
    /// The OCI image it runs in (the container runtime's local tag; the Kubernetes runtime's pushed
    /// reference, `REGISTRY/NAME:TAG@sha256:…`).
    public var image: String?
    /// How its cluster runs it (the Kubernetes runtime: its Deployment, ready replicas), as last read.
    public var cluster: ClusterWorkloadStatus?
    /// The product built (nil for a prebuilt binary).
    public var product: String?
    /// The commit built (git sources).
    public var commit: String?
    /// The executable run (the binary packager's copy).
    public var executable: String?
    /// Its arguments.
    public var arguments: [String]
    /// Environment set from its manifest.
    public var environment: [String: String]
    /// The services it depends on.
    public var dependencies: [String]
    /// Which process generation is current (``ProcessRuntime/update(_:)`` starts the next one).
    public var generation: Int
    /// Its life: status, pid, restarts, errors.
    public var state: SupervisionState

    /// Seconds the current process has run, nil when none runs.
    public func uptime(now: Date = Date()) -> Double? {
        state.startedAt.map { max(0, now.timeIntervalSince1970 - $0) }
    }

    /// How it runs (a record of an unknown runtime runs as a process).
    var kind: RuntimeKind { RuntimeKind(rawValue: runtime) ?? .process }

    init(name: String, source: RuntimeSource, kind: RuntimeKind = .process) {
        self.name = name
        version = "latest"
        self.source = source.description
        metadata = [:]
        runtime = kind.rawValue
        arguments = []
        environment = [:]
        dependencies = []
        generation = 0
        state = SupervisionState()
    }
}
