import ArgumentParser
import Micro
import MicroGateway

/// `micro api`: an HTTP gateway to every service (go-micro's path mapping, `/rpc`, `/openapi.json`),
/// on 127.0.0.1:8080 unless `--address` says otherwise, until SIGTERM/SIGINT.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Serve every service over HTTP with JSON: POST /SERVICE/METHOD, POST /rpc, GET /openapi.json.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var server: GatewayOptions
    @Option(help: "Prefix every service resolved from a path with this namespace (e.g. go.micro.api).") var namespace: String = ""
    @Option(help: "Origins allowed to call from a browser: comma-separated, * for any (default: none).") var cors: String = ""

    func run() async throws {
        try await runReporting {
            var configuration = try server.configuration(defaultPort: 8080, global: global)
            configuration.namespace = namespace
            configuration.cors = CORSPolicy.parse(cors)
            try await global.withClient { client in
                let gateway = APIGateway(client: client, configuration: configuration) { address in
                    try? emit("micro api listening on http://\(address)")
                }
                try await runUntilSignalled(gateway, label: "micro.api")
            }
        }
    }
}
