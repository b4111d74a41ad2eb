import ArgumentParser
import Foundation
import Micro

/// `micro login --id ID --secret S` (or `MICRO_AUTH_ID` / `MICRO_AUTH_SECRET`): exchanges the account's
/// credentials for a token pair and keeps it at `$MICRO_HOME/token`, mode 0600, for `micro call`.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sign in; the token is kept at $MICRO_HOME/token (mode 0600) for micro call.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var auth: AuthOptions
    @Option(help: "Account id (default MICRO_AUTH_ID).") var id: String?
    @Option(help: "Secret (default MICRO_AUTH_SECRET).") var secret: String?

    func run() async throws {
        try await runReporting {
            let environment = global.environment
            guard let id = id ?? environment.authID, let secret = secret ?? environment.authSecret else {
                throw ValidationError("give --id and --secret (or MICRO_AUTH_ID and MICRO_AUTH_SECRET)")
            }
            let token = try await auth.withAuth(global) { try await $0.token(.credentials(id: id, secret: secret)) }
            try TokenFile.write(token, environment: environment)
            try emit("logged in as \(id); token kept at \(TokenFile.path(environment)) until \(ISO8601DateFormatter().string(from: token.expiry))")
        }
    }
}
