/// A v1 `Service` (named so to keep it apart from Micro's services): a stable address for the pods of
/// a Deployment, selected by label.
struct ServiceObject: Codable, Sendable {
    struct Spec: Codable, Sendable {
        var selector: [String: String]?
        var ports: [Port]?
        var type: String?
    }

    struct Port: Codable, Sendable {
        var name: String?
        var port: Int
        var targetPort: Int?
        var `protocol`: String?
    }

    var apiVersion: String? = "v1"
    var kind: String? = "Service"
    var metadata: ObjectMeta
    var spec: Spec?
}
