import ArgumentParser
import Micro
import MicroGateway

/// `micro web`: the dashboard (services, nodes, health, endpoints and their shapes, a call form each,
/// live from the registry) on 127.0.0.1:8082 unless `--address` says otherwise, until SIGTERM/SIGINT.
struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "web", abstract: "Serve the web dashboard of the services in the registry.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var server: GatewayOptions

    func run() async throws {
        try await runReporting {
            let configuration = try server.configuration(defaultPort: 8082, global: global)
            try await global.withClient { client in
                let dashboard = WebDashboard(client: client, configuration: configuration) { address in
                    try? emit("micro web listening on http://\(address)")
                }
                try await runUntilSignalled(dashboard, label: "micro.web")
            }
        }
    }
}
