import ArgumentParser
import Foundation
import Micro
import MicroAuth

/// Where `micro auth` and `micro login` find accounts and rules: the auth `MICRO_AUTH` names (default
/// `jwt`, on the store `MICRO_STORE` names, default SQLite under `MICRO_HOME` — the same records the
/// services' `JWTAuth` reads), or with `MICRO_AUTH=service` the auth service, called with the token
/// `micro login` kept.
struct AuthOptions: ParsableArguments {
    /// The engines with the JWT auth and the auth service's client.
    static let engines = GlobalOptions.engines.adding([.jwtAuth])

    /// Runs `body` with the auth, closing its store or client afterwards.
    func withAuth<T: Sendable>(_ global: GlobalOptions, _ body: (any Auth) async throws -> T) async throws -> T {
        var environment = global.environment
        if environment.auth == nil { environment.auth = "jwt" }
        if environment.auth == "service" {
            return try await global.withClient { client in
                var context = EngineContext(environment: environment)
                context.client = client
                guard let auth = try Self.engines.makeAuth(context) else { throw ValidationError("MICRO_AUTH is none") }
                return try await body(auth)
            }
        }
        var context = EngineContext(environment: environment)
        let store = try Self.engines.makeStore(context)
        context.store = store
        let result: T
        do {
            guard let auth = try Self.engines.makeAuth(context) else { throw ValidationError("MICRO_AUTH is none") }
            result = try await body(auth)
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
        return result
    }
}
