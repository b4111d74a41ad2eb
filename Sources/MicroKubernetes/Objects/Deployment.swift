/// An apps/v1 `Deployment`, the fields the runtime sets and reads (unknown fields are ignored).
struct Deployment: Codable, Sendable {
    struct Spec: Codable, Sendable {
        var replicas: Int?
        var selector: LabelSelector?
        var template: PodTemplate?
    }

    struct LabelSelector: Codable, Sendable {
        var matchLabels: [String: String]?
    }

    struct PodTemplate: Codable, Sendable {
        var metadata: ObjectMeta?
        var spec: PodSpec?
    }

    struct PodSpec: Codable, Sendable {
        var containers: [Container]?
    }

    struct Container: Codable, Sendable {
        var name: String
        var image: String?
        var args: [String]?
        var env: [EnvVar]?
        var ports: [ContainerPort]?
        var readinessProbe: Probe?
    }

    struct EnvVar: Codable, Sendable, Hashable {
        var name: String
        var value: String?
    }

    struct ContainerPort: Codable, Sendable {
        var name: String?
        var containerPort: Int
        var `protocol`: String?
    }

    struct Probe: Codable, Sendable {
        struct TCPSocket: Codable, Sendable { var port: Int }
        var tcpSocket: TCPSocket?
        var periodSeconds: Int?
    }

    struct Status: Codable, Sendable {
        var observedGeneration: Int64?
        var replicas: Int?
        var updatedReplicas: Int?
        var readyReplicas: Int?
        var availableReplicas: Int?
    }

    var apiVersion: String? = "apps/v1"
    var kind: String? = "Deployment"
    var metadata: ObjectMeta
    var spec: Spec?
    var status: Status?

    /// Rolled out as `kubectl rollout status` judges it: the controller saw the latest spec, every
    /// replica runs it, none of an older one is left, and all are available.
    var isReady: Bool {
        guard let status else { return false }
        let wanted = spec?.replicas ?? 1
        let observed = (status.observedGeneration ?? 0) >= (metadata.generation ?? 0)
        let updated = status.updatedReplicas ?? 0
        return observed && updated >= wanted && (status.replicas ?? 0) <= updated && (status.availableReplicas ?? 0) >= updated
            && (status.readyReplicas ?? 0) >= wanted
    }
}
