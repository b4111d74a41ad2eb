/// A change seen by a registry watch: go-micro's `create`, `update`, `delete`.
public struct RegistryEvent: Sendable, Hashable {
    /// What happened.
    public enum Action: String, Sendable, Hashable, Codable {
        case create, update, delete
    }

    /// What happened to the service.
    public var action: Action
    /// The service record, holding the nodes the event concerns.
    public var service: ServiceRecord

    /// Creates an event.
    public init(action: Action, service: ServiceRecord) {
        self.action = action
        self.service = service
    }
}
