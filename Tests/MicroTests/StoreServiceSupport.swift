import Foundation
import Micro
import MicroGRPC

/// A store served by a `go.micro.store` service on its own memory registry, over the real HTTP (or
/// gRPC) transport on loopback: what the store service tests call.
final class ServedStore: Sendable {
    let service: MicroService
    let registry: MemoryRegistry
    let backing: any Store
    private let task: Task<Void, any Error>

    private init(service: MicroService, registry: MemoryRegistry, backing: any Store, task: Task<Void, any Error>) {
        self.service = service
        self.registry = registry
        self.backing = backing
        self.task = task
    }

    /// Serves `backing` (over gRPC with `grpc`) and returns once the service is registered.
    static func start(_ backing: any Store = MemoryStore(), handler: StoreHandler? = nil, grpc: Bool = false) async throws -> ServedStore {
        let transport: (client: any ClientTransport, server: any ServerTransport) = grpc
            ? (GRPCClientTransport(), GRPCServerTransport()) : (HTTPClientTransport(), HTTPServerTransport())
        let registry = MemoryRegistry()
        let service = try MicroService(name: StoreHandler.serviceName, options: ServiceOptions(drainTimeout: .seconds(1)),
                                       environment: MicroEnvironment([:]), registry: registry, broker: MemoryBroker(), store: backing,
                                       transport: transport)
        service.register(handler ?? StoreHandler(store: backing))
        let task = Task { try await service.run() }
        let served = ServedStore(service: service, registry: registry, backing: backing, task: task)
        for _ in 0..<500 {
            if let nodes = try? await registry.getService(StoreHandler.serviceName).first?.nodes, !nodes.isEmpty { return served }
            try await Task.sleep(for: .milliseconds(10))
        }
        await served.stop()
        throw MicroError.unavailable("test", "the store service never registered")
    }

    /// A remote store calling this service through the service's own client.
    func remote(scope: StoreScope = .default) -> RemoteStore {
        RemoteStore(client: service.client, scope: scope)
    }

    /// A client on the service's registry, calling in `contentType`, asking for Swift Micro's
    /// extension fields with `extensions`.
    func client(contentType: String = "application/protobuf", extensions: Bool = true) -> Client {
        Client(registry: registry, transports: [HTTPClientTransport()], broker: MemoryBroker(),
               defaults: CallOptions(retries: 0, contentType: contentType,
                                     metadata: extensions ? [StoreHandler.extensionsHeader: "1"] : [:]))
    }

    func stop() async {
        service.stop()
        _ = try? await task.value
        await backing.shutdown()
    }
}
