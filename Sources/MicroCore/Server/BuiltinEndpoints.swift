/// The endpoint names rules use for what transports answer themselves, outside the router (checked
/// through ``RPCHandler/admit(_:)``): `service:<name>:<endpoint>` with one of these endpoints.
public enum BuiltinEndpoints {
    /// HTTP `GET /health`, `/health/live` and `/health/ready`: the same resource as the `Debug.Health`
    /// endpoint, so one rule covers every way to ask a service's health.
    public static let health = "Debug.Health"
    /// gRPC health: `grpc.health.v1.Health.Check` and `grpc.health.v1.Health.Watch`; gRPC reflection:
    /// `grpc.reflection.v1.ServerReflection.ServerReflectionInfo` (and `v1alpha`). A built-in gRPC
    /// method's resource endpoint is `<fully qualified service>.<method>`.
    public static func grpc(service: String, method: String) -> String { "\(service).\(method)" }
    /// An extra HTTP `GET` path (`/metrics`): the path itself, e.g. `service:greeter:/metrics`.
    public static func httpGet(path: String) -> String { path }
}
