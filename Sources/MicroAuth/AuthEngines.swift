import MicroCore

extension EnginePlugin {
    /// `MICRO_AUTH=jwt`: a ``JWTAuth`` keeping its records in the service's store (`MICRO_STORE`), so
    /// every service and the CLI on that store share accounts, rules and keys. `MICRO_AUTH=service`: a
    /// ``RemoteAuth`` calling the auth service (`MICRO_AUTH_ADDRESS` names it, default `go.micro.auth`)
    /// through the service's client. `MICRO_AUTH_ISSUER` and `MICRO_AUTH_AUDIENCE` set the token's
    /// `iss` and `aud` (default `micro`) for both.
    public static let jwtAuth = EnginePlugin("jwt-auth") { engines in
        engines.add(AuthFactory("jwt") { context in
            guard let store = context.store else { throw ConfigurationError("the jwt auth needs a store (MICRO_STORE)") }
            return JWTAuth(store: store, configuration: JWTAuthConfiguration(context.environment))
        })
        engines.add(AuthFactory("service") { context in
            guard let client = context.client else { throw ConfigurationError("MICRO_AUTH=service needs a client to call the auth service") }
            let service = context.address.flatMap { $0.isEmpty ? nil : $0 } ?? AuthHandler.serviceName
            return RemoteAuth(client: client, service: service, configuration: JWTAuthConfiguration(context.environment))
        })
    }
}

extension JWTAuthConfiguration {
    /// The defaults with `MICRO_AUTH_ISSUER` and `MICRO_AUTH_AUDIENCE` applied.
    public init(_ environment: MicroEnvironment) {
        self.init(issuer: environment["MICRO_AUTH_ISSUER"] ?? "micro", audience: environment["MICRO_AUTH_AUDIENCE"] ?? "micro")
    }
}
