import ArgumentParser
import Foundation
import Logging
import Micro
import MicroAuth
import MicroConsul
import MicroEtcd
import MicroGRPC
import MicroGossip
import MicroMDNS
import MicroNATS
import MicroPostgres
import MicroTLS

/// `micro auth serve`: runs the auth service (`go.micro.auth`) over a `JWTAuth` on the store
/// `MICRO_STORE` names (default SQLite under `MICRO_HOME`), registered where `MICRO_REGISTRY` says,
/// until SIGTERM/SIGINT. Services and the CLI reach it with `MICRO_AUTH=service`.
///
/// The first admin (go-micro's bootstrap): when the auth holds no account at all, the service makes
/// account `admin` with scope `admin` and the secret `--admin-secret` / `MICRO_AUTH_ADMIN_SECRET`, or a
/// random one written to `$MICRO_HOME/auth-admin-secret` (mode 0600); it is never logged.
struct AuthServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve accounts, tokens and rules as the auth service go.micro.auth.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The service name to register (default go.micro.auth).") var name: String = AuthHandler.serviceName
    @Option(help: "The address to listen on (default MICRO_SERVER_ADDRESS, else 127.0.0.1 on a free port).") var address: String?
    @Option(name: .customLong("admin-secret"), help: "The first admin's secret, used only when no account exists (default MICRO_AUTH_ADMIN_SECRET, else random).")
    var adminSecret: String?
    @Option(name: .customLong("access-ttl"), help: "How long access tokens live, in seconds (default 900).") var accessTTL: Double?

    func validate() throws {
        if let accessTTL { try validateSeconds(accessTTL, option: "--access-ttl") }
    }

    func run() async throws {
        try await runReporting {
            var environment = global.environment
            if let address { environment.serverAddress = address }
            // The service guards its own endpoints (AuthHandler); it does not check calls against the rules it serves.
            environment.auth = nil
            let service = try MicroService(name: name, environment: environment, plugins: [.nats, .etcd, .consul, .gossip, .mdns, .grpc, .postgres, .tls])
            var configuration = JWTAuthConfiguration(environment)
            if let accessTTL { configuration.accessTTL = .milliseconds(Int64(accessTTL * 1000)) }
            let logger = Logger(label: "micro.auth")
            let handler = AuthHandler(auth: JWTAuth(store: service.store, configuration: configuration))
            if let admin = try await handler.bootstrap(adminSecret: adminSecret ?? environment["MICRO_AUTH_ADMIN_SECRET"]) {
                if adminSecret == nil, environment["MICRO_AUTH_ADMIN_SECRET"] == nil, let secret = admin.secret {
                    let path = (environment.home as NSString).appendingPathComponent("auth-admin-secret")
                    try PrivateFile.write(Data(secret.utf8), to: path)
                    logger.notice("made the first admin account; its secret is in the file", metadata: ["account": "\(admin.id)", "file": "\(path)"])
                } else {
                    logger.notice("made the first admin account with the secret given", metadata: ["account": "\(admin.id)"])
                }
            }
            service.register(handler)
            try await service.runService()
        }
    }
}
