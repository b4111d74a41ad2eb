import Logging

extension Client {
    /// A client on the engines `environment` chooses among `engines` (registry, broker, and a client
    /// side of every known transport, so it reaches nodes whatever they speak). It made them, so its
    /// ``shutdown()`` closes them: use it inside ``withClient(engines:environment:defaults:callWrappers:publishWrappers:_:)``
    /// or run it as a `Service`.
    public convenience init(engines: Engines, environment: MicroEnvironment = MicroEnvironment(), defaults: CallOptions = CallOptions(),
                            callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [],
                            logger: Logger = Logger(label: "micro.client")) throws {
        var context = EngineContext(environment: environment, logger: logger)
        let registry = try engines.makeRegistry(context)
        context.registry = registry
        let broker = try engines.makeBroker(context)
        let primary = try engines.makeClientTransport(context)
        let transports = try engines.clientTransports(primary: primary, context)
        self.init(registry: registry, transports: transports, broker: broker, defaults: defaults,
                  callWrappers: callWrappers, publishWrappers: publishWrappers, owning: [registry, broker])
    }
}

/// Runs `body` with a client on the engines `environment` chooses among `engines`, and closes the
/// client and everything it opened when `body` returns or throws (as grpc-swift-2's `withGRPCClient`).
public func withClient<Result: Sendable>(
    engines: Engines, environment: MicroEnvironment = MicroEnvironment(), defaults: CallOptions = CallOptions(),
    callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [],
    _ body: (Client) async throws -> Result
) async throws -> Result {
    let client = try Client(engines: engines, environment: environment, defaults: defaults,
                            callWrappers: callWrappers, publishWrappers: publishWrappers)
    let result: Result
    do {
        result = try await body(client)
    } catch {
        await client.shutdown()
        throw error
    }
    await client.shutdown()
    return result
}
