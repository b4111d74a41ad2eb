import ArgumentParser
import Foundation
import Logging
import Micro
import MicroConsul
import MicroEtcd
import MicroGRPC
import MicroGossip
import MicroKubernetes
import MicroMDNS
import MicroNATS
import MicroRuntime
import ServiceLifecycle
import MicroTLS

/// `micro runtime`: runs the runtime service (`runtime`): services from sources as supervised
/// processes or containers, or on Kubernetes (`MICRO_RUNTIME_KUBERNETES_*`, `MICRO_RUNTIME_IMAGE_REGISTRY*`),
/// their state in MICRO_STORE's store, until SIGTERM/SIGINT (the services keep running, and the next
/// `micro runtime` adopts them).
struct RuntimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runtime", abstract: "Run the runtime service that `micro run`, `ps`, `logs`, `kill` and `update` talk to.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The service name to register (default runtime).") var name: String = RuntimeHandler.serviceName
    @Option(help: "The address to listen on (default MICRO_SERVER_ADDRESS, else 127.0.0.1 on a free port).") var address: String?
    @Option(help: "Seconds between SIGTERM and SIGKILL when a service is stopped.") var grace: Double = 5
    @Option(help: "Crashes in a row after which a service is left failed.") var crashLimit: Int = 5

    func run() async throws {
        try await runReporting {
            try validateSeconds(grace, option: "--grace")
            var environment = global.environment
            if let address { environment.serverAddress = address }
            let service = try MicroService(name: name, environment: environment, plugins: [.nats, .etcd, .consul, .gossip, .mdns, .grpc, .tls])
            var processEnvironment = ProcessInfo.processInfo.environment
            // The services run by it find the registry the runtime was told about.
            if let registry = global.registry { processEnvironment["MICRO_REGISTRY"] = registry }
            if let registryAddress = global.registryAddress { processEnvironment["MICRO_REGISTRY_ADDRESS"] = registryAddress }
            let options = RuntimeOptions(home: environment.home, environment: processEnvironment,
                                         restartPolicy: RestartPolicy(crashLimit: crashLimit),
                                         stopGrace: .milliseconds(Int64(grace * 1000)),
                                         imageRegistry: try ImageRegistry(environment: processEnvironment))
            let health = RegistryHealthCheck(registry: service.registry, client: service.client)
            func serve(_ cluster: (any ClusterRuntime)?) async throws {
                let runtime = ProcessRuntime(options: options, store: service.store, health: health, cluster: cluster)
                service.register(RuntimeHandler(runtime: runtime))
                // The runtime stops first (its tasks end; its services keep running), then the service deregisters.
                let group = ServiceGroup(configuration: .init(services: [.init(service: service), .init(service: runtime)],
                                                              gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "micro.runtime")))
                try await group.run()
            }
            if let kubernetes = try KubernetesConfiguration.fromEnvironment(processEnvironment) {
                try await KubernetesRuntime.with(kubernetes) { try await serve($0) }
            } else {
                try await serve(nil)
            }
        }
    }
}
