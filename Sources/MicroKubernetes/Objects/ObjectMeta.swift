/// `metadata` of a Kubernetes object (meta/v1 ObjectMeta), the fields the runtime reads and writes.
struct ObjectMeta: Codable, Sendable, Hashable {
    var name: String?
    var namespace: String?
    var labels: [String: String]?
    var annotations: [String: String]?
    /// The version of the object the server holds; sent back on update as a precondition.
    var resourceVersion: String?
    /// Bumped by the server on every change of `spec`.
    var generation: Int64?
    var uid: String?
    var creationTimestamp: String?
}

/// An API server's `Status` answer (meta/v1 Status): why a call failed.
struct APIStatus: Codable, Sendable {
    var kind: String?
    var status: String?
    var message: String?
    var reason: String?
    var code: Int?
}

/// A list answer (`DeploymentList`, `ServiceList`): its items.
struct ObjectList<Item: Codable & Sendable>: Codable, Sendable {
    var items: [Item]?
}
