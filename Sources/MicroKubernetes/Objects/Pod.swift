/// A v1 `Pod`, the fields the runtime reads to find a service's pods and their logs.
struct Pod: Codable, Sendable {
    struct Status: Codable, Sendable {
        var phase: String?
    }

    var metadata: ObjectMeta
    var status: Status?
}
