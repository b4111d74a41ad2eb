/// What a call reaches (go-micro's `auth.Resource`): a type (`service`, `topic`), a name (the service or
/// topic) and an endpoint (`Greeter.Hello`).
public struct Resource: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kind of resource: ``service`` for calls, ``topic`` for deliveries.
    public var type: String
    /// The service or topic name; `*` in a rule matches any.
    public var name: String
    /// The endpoint (`Greeter.Hello`); `*` in a rule matches any, `a/b/*` any path under `a/b`.
    public var endpoint: String

    /// The resource type of calls to a service's endpoints.
    public static let service = "service"
    /// The resource type of messages delivered to a subscriber (endpoint ``publishEndpoint``).
    public static let topic = "topic"
    /// The endpoint of a delivery on a topic.
    public static let publishEndpoint = "Publish"

    /// A resource.
    public init(type: String, name: String, endpoint: String) {
        self.type = type
        self.name = name
        self.endpoint = endpoint
    }

    /// Parses go-micro's `type:name:endpoint` form (`service:greeter:Greeter.Hello`, `*:*:*`); nil when it
    /// is not three non-empty parts.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.init(type: String(parts[0]), name: String(parts[1]), endpoint: String(parts[2]))
    }

    /// `type:name:endpoint`.
    public var description: String { "\(type):\(name):\(endpoint)" }
}
