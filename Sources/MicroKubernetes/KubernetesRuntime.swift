import AsyncHTTPClient
import Foundation
import MicroRuntime

/// The Kubernetes runtime: runs Micro services as apps/v1 Deployments with a v1 Service in front,
/// created, updated and deleted through the Kubernetes REST API (a bearer token, one namespace,
/// JSON), and waits for a Deployment to be rolled out by reading its status as `kubectl rollout
/// status` does. Kubernetes restarts the pods; this type only declares what should run.
///
/// Objects are labelled `micro.mu/type: service`, `micro.mu/name` and `micro.mu/version`; an update is
/// a JSON merge patch carrying the `resourceVersion` it was computed from, retried after a conflict
/// with another writer.
public struct KubernetesRuntime: Sendable {
    /// What the runtime last saw of a service.
    public struct Status: Sendable, Hashable {
        /// The service's name (the `micro.mu/name` label).
        public var name: String
        /// Its version (the `micro.mu/version` label).
        public var version: String
        /// The image its pods run.
        public var image: String?
        /// Pods wanted.
        public var replicas: Int
        /// Pods ready.
        public var readyReplicas: Int
        /// Whether the latest spec is rolled out and every pod is available.
        public var ready: Bool
        /// The Deployment's `resourceVersion`.
        public var resourceVersion: String?
    }

    /// How many times an update is tried again after a `resourceVersion` conflict.
    public static let maxConflictRetries = 5

    /// Where the API server is and how to call it.
    public let configuration: KubernetesConfiguration
    let api: KubernetesAPI

    /// A runtime calling the API server `configuration` names through `client`.
    public init(configuration: KubernetesConfiguration, client: HTTPClient = .shared) {
        self.configuration = configuration
        api = KubernetesAPI(configuration: configuration, client: client)
    }

    /// The object name for a service name: Kubernetes names are DNS labels (lower case letters,
    /// digits and `-`, at most 63), so `go.micro.store` becomes `go-micro-store`.
    public static func objectName(for service: String) throws -> String {
        let mapped = String(service.lowercased().map { $0 == "." || $0 == "_" ? "-" : $0 })
        guard (1...63).contains(mapped.utf8.count), mapped.first?.isLetter == true, mapped.last != "-",
              mapped.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw KubernetesError(.invalid, "'\(service.prefix(100))' cannot be a Kubernetes name (a letter, then up to 62 of [a-z0-9.-_], not ending in - . _)")
        }
        return mapped
    }

    /// Creates the service's Deployment and Service. Throws ``KubernetesError/Code/alreadyExists``
    /// when either exists (a Deployment made here is deleted again when its Service cannot be made).
    public func create(_ service: ClusterWorkload) async throws {
        let name = try Self.objectName(for: service.name)
        try Self.validate(service)
        _ = try await api.call(.POST, api.deploymentsPath(), body: Self.deployment(service, name: name), as: Deployment.self)
        do {
            _ = try await api.call(.POST, api.servicesPath(), body: Self.serviceObject(service, name: name), as: ServiceObject.self)
        } catch {
            _ = try? await api.send(.DELETE, api.deploymentsPath(name), body: nil)
            throw error
        }
    }

    /// Rolls the service's Deployment to `service` (image, arguments, environment, replicas, version)
    /// with a merge patch preconditioned on the `resourceVersion` just read; a conflict reads again and
    /// retries (at most ``maxConflictRetries`` times).
    public func update(_ service: ClusterWorkload) async throws {
        let name = try Self.objectName(for: service.name)
        try Self.validate(service)
        var attempt = 0
        while true {
            let current = try await api.call(.GET, api.deploymentsPath(name), as: Deployment.self)
            guard let version = current.metadata.resourceVersion else {
                throw KubernetesError(.badResponse, "deployment \(name) has no resourceVersion")
            }
            let patch = Self.deployment(service, name: name, patchOf: version)
            do {
                _ = try await api.call(.PATCH, api.deploymentsPath(name), body: patch, contentType: "application/merge-patch+json", as: Deployment.self)
                return
            } catch let error as KubernetesError where error.code == .conflict && attempt < Self.maxConflictRetries {
                attempt += 1
            }
        }
    }

    /// Deletes the service's Deployment (its pods with it) and Service. Throws
    /// ``KubernetesError/Code/notFound`` when neither exists.
    public func delete(_ service: String) async throws {
        let name = try Self.objectName(for: service)
        var missing = 0
        for path in [api.servicesPath(name), api.deploymentsPath(name)] {
            do {
                _ = try await api.send(.DELETE, path, body: try JSONEncoder().encode(["propagationPolicy": "Background"]))
            } catch let error as KubernetesError where error.code == .notFound {
                missing += 1
            }
        }
        if missing == 2 { throw KubernetesError(.notFound, "no deployment or service \(name) in namespace \(configuration.namespace)", status: 404) }
    }

    /// The service's Deployment as it stands.
    public func status(_ service: String) async throws -> Status {
        Self.status(of: try await api.call(.GET, api.deploymentsPath(try Self.objectName(for: service)), as: Deployment.self))
    }

    /// Every Micro service in the namespace, by name.
    public func list() async throws -> [Status] {
        let list = try await api.call(.GET, api.deploymentsPath() + "?labelSelector=micro.mu%2Ftype%3Dservice", as: ObjectList<Deployment>.self)
        return (list.items ?? []).map(Self.status(of:)).sorted { $0.name < $1.name }
    }

    /// Waits until the service's Deployment is rolled out (read every
    /// ``KubernetesConfiguration/pollInterval``); throws ``KubernetesError/Code/notReady`` after `timeout`.
    @discardableResult
    public func waitReady(_ service: String, timeout: Duration) async throws -> Status {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = try await status(service)
            if current.ready { return current }
            guard ContinuousClock.now < deadline else {
                throw KubernetesError(.notReady, "deployment \(service) is not rolled out after \(timeout): \(current.readyReplicas) of \(current.replicas) ready")
            }
            try await Task.sleep(for: configuration.pollInterval)
        }
    }

    // MARK: Objects

    static func validate(_ service: ClusterWorkload) throws {
        guard (1...65535).contains(service.port) else { throw KubernetesError(.invalid, "port \(service.port) is not 1 to 65535") }
        guard (0...1000).contains(service.replicas) else { throw KubernetesError(.invalid, "replicas \(service.replicas) is not 0 to 1000") }
        guard !service.image.isEmpty, service.image.utf8.count <= 1024 else { throw KubernetesError(.invalid, "an image reference is 1 to 1024 bytes") }
        guard service.version.utf8.count <= 63 else { throw KubernetesError(.invalid, "a version is at most 63 bytes (a label value)") }
    }

    static func labels(_ service: ClusterWorkload) -> [String: String] {
        ["micro.mu/type": "service", "micro.mu/name": service.name, "micro.mu/version": labelValue(service.version)]
    }

    /// A label value: at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric (else `unknown`).
    static func labelValue(_ text: String) -> String {
        let kept = String(text.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
            .prefix(63).map(Character.init))
        guard let first = kept.first, let last = kept.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return "unknown" }
        return kept
    }

    /// The Deployment for `service`; with `patchOf`, the merge patch that rolls an existing one to it.
    static func deployment(_ service: ClusterWorkload, name: String, patchOf resourceVersion: String? = nil) -> Deployment {
        let labels = labels(service)
        var environment = service.environment
        environment["MICRO_SERVER_ADDRESS"] = ":\(service.port)"
        let container = Deployment.Container(
            name: name, image: service.image, args: service.arguments,
            env: environment.keys.sorted().map { Deployment.EnvVar(name: $0, value: environment[$0]) },
            ports: [Deployment.ContainerPort(name: "micro", containerPort: service.port, protocol: "TCP")],
            readinessProbe: Deployment.Probe(tcpSocket: .init(port: service.port), periodSeconds: 2))
        let template = Deployment.PodTemplate(metadata: ObjectMeta(labels: labels), spec: Deployment.PodSpec(containers: [container]))
        var metadata = ObjectMeta(name: name, namespace: nil, labels: labels)
        var selector: Deployment.LabelSelector? = Deployment.LabelSelector(matchLabels: ["micro.mu/name": service.name])
        if let resourceVersion {
            metadata = ObjectMeta(labels: labels, resourceVersion: resourceVersion)
            selector = nil   // immutable once made
        }
        return Deployment(apiVersion: resourceVersion == nil ? "apps/v1" : nil, kind: resourceVersion == nil ? "Deployment" : nil, metadata: metadata,
                          spec: Deployment.Spec(replicas: service.replicas, selector: selector, template: template))
    }

    /// The Service in front of `service`'s pods.
    static func serviceObject(_ service: ClusterWorkload, name: String) -> ServiceObject {
        ServiceObject(metadata: ObjectMeta(name: name, labels: labels(service)),
                      spec: ServiceObject.Spec(selector: ["micro.mu/name": service.name],
                                               ports: [ServiceObject.Port(name: "micro", port: service.port, targetPort: service.port, protocol: "TCP")],
                                               type: "ClusterIP"))
    }

    static func status(of deployment: Deployment) -> Status {
        Status(name: deployment.metadata.labels?["micro.mu/name"] ?? deployment.metadata.name ?? "",
               version: deployment.metadata.labels?["micro.mu/version"] ?? "",
               image: deployment.spec?.template?.spec?.containers?.first?.image,
               replicas: deployment.spec?.replicas ?? 1, readyReplicas: deployment.status?.readyReplicas ?? 0,
               ready: deployment.isReady, resourceVersion: deployment.metadata.resourceVersion)
    }
}
