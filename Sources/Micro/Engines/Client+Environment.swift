import Logging
import MicroCore

extension Client {
    /// A client on the engines `MICRO_*` variables choose among the embedded ones and `plugins`'
    /// (local registry, HTTP transport and broker by default). It closes them on `shutdown()`;
    /// prefer ``withClient(environment:plugins:defaults:callWrappers:publishWrappers:_:)``.
    public convenience init(environment: MicroEnvironment = MicroEnvironment(), plugins: [EnginePlugin] = [],
                            defaults: CallOptions = CallOptions(), callWrappers: [any CallWrapper] = [],
                            publishWrappers: [any PublishWrapper] = []) throws {
        try self.init(engines: Engines.embedded.adding(plugins), environment: environment, defaults: defaults,
                      callWrappers: callWrappers, publishWrappers: publishWrappers)
    }
}

/// Runs `body` with a client on the engines `MICRO_*` chooses among the embedded ones and `plugins`',
/// and closes it when `body` returns or throws.
public func withClient<Result: Sendable>(
    environment: MicroEnvironment = MicroEnvironment(), plugins: [EnginePlugin] = [], defaults: CallOptions = CallOptions(),
    callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = [],
    _ body: (Client) async throws -> Result
) async throws -> Result {
    try await withClient(engines: Engines.embedded.adding(plugins), environment: environment, defaults: defaults,
                         callWrappers: callWrappers, publishWrappers: publishWrappers, body)
}
