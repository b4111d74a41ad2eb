import MicroCore

extension EnginePlugin {
    /// `MICRO_AUTH=jwt`: a ``JWTAuth`` keeping its records in the service's store (`MICRO_STORE`), so
    /// every service and the CLI on that store share accounts, rules and keys. `MICRO_AUTH_ISSUER` and
    /// `MICRO_AUTH_AUDIENCE` set the token's `iss` and `aud` (default `micro`).
    public static let jwtAuth = EnginePlugin("jwt-auth") { engines in
        engines.add(AuthFactory("jwt") { context in
            guard let store = context.store else { throw ConfigurationError("the jwt auth needs a store (MICRO_STORE)") }
            let environment = context.environment
            return JWTAuth(store: store, configuration: JWTAuthConfiguration(
                issuer: environment["MICRO_AUTH_ISSUER"] ?? "micro", audience: environment["MICRO_AUTH_AUDIENCE"] ?? "micro"))
        })
    }
}
