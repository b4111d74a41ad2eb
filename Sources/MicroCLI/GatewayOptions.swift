import ArgumentParser
import Logging
import MicroAddress
import MicroGateway
import ServiceLifecycle
import UnixSignals

/// The options `micro api` and `micro web` share: where to listen, body and time limits.
struct GatewayOptions: ParsableArguments {
    @Option(help: "The address to listen on (host:port; loopback by default).") var address: String?
    @Option(name: .customLong("max-body"), help: "The largest request body in bytes (default 1048576).") var maxBody: Int = 1 << 20
    @Option(name: .customLong("read-timeout"), help: "Seconds a request may take to arrive, head and body (default 10).") var readTimeout: Double = 10

    func validate() throws {
        guard maxBody > 0, maxBody <= 1 << 30 else { throw ValidationError("--max-body must be 1 to 1073741824 bytes") }
        try validateSeconds(readTimeout, option: "--read-timeout")
        if let address { _ = try HostPort(parsing: address) }
    }

    /// The configuration for a server whose default port is `port`.
    func configuration(defaultPort: Int, global: GlobalOptions) throws -> GatewayConfiguration {
        let hostPort = try HostPort(parsing: address ?? "\(HostPort.loopback):\(defaultPort)", defaultPort: defaultPort, defaultHost: HostPort.loopback)
        return GatewayConfiguration(host: hostPort.host, port: hostPort.port, maxBodySize: maxBody,
                                    callTimeout: .milliseconds(Int64(max(0.001, global.timeout ?? 5) * 1000)),
                                    requestReadTimeout: .milliseconds(Int64(readTimeout * 1000)))
    }
}

/// Runs one gateway service until SIGTERM or SIGINT, then stops it gracefully.
func runUntilSignalled(_ service: some Service, label: String) async throws {
    let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint],
                                                  logger: Logger(label: label)))
    try await group.run()
}
