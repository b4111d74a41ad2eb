import ArgumentParser
import Micro
import MicroConsul
import MicroEtcd
import MicroGRPC
import MicroGossip
import MicroMDNS
import MicroNATS
import MicroTLS

/// `micro store serve`: runs the store service (`go.micro.store`) over the store `MICRO_STORE` names
/// (default SQLite under `MICRO_HOME`), registered where `MICRO_REGISTRY` says, until SIGTERM/SIGINT.
struct StoreServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve MICRO_STORE's store as the store service go.micro.store.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The service name to register (default go.micro.store).") var name: String = StoreHandler.serviceName
    @Option(help: "The address to listen on (default MICRO_SERVER_ADDRESS, else 127.0.0.1 on a free port).") var address: String?

    func run() async throws {
        try await runReporting {
            var environment = global.environment
            if environment.store == "service" {
                throw ConfigurationError("MICRO_STORE=service would serve the store service from itself; name a store that holds the records (sqlite, memory, ...)")
            }
            if let address { environment.serverAddress = address }
            let service = try MicroService(name: name, environment: environment, plugins: [.nats, .etcd, .consul, .gossip, .mdns, .grpc, .tls])
            service.register(StoreHandler(store: service.store))
            try await service.runService()
        }
    }
}
