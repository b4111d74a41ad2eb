import MicroCore

extension EnginePlugin {
    /// The `service` store (``RemoteStore``): a store service found in the registry, by default
    /// `go.micro.store` (`MICRO_STORE_ADDRESS` names another), called through the service's own client
    /// when there is one, else through a client on the embedded engines that the store owns.
    public static let storeService: EnginePlugin = EnginePlugin("store-service") { engines in
        engines.add(StoreFactory("service") { context in
            let service = context.address.flatMap { $0.isEmpty ? nil : $0 } ?? StoreHandler.serviceName
            if let client = context.client { return RemoteStore(client: client, service: service) }
            return RemoteStore(owning: try Client(engines: Engines.embedded, environment: context.environment), service: service)
        })
    }
}
