import ArgumentParser
import Micro

/// Which configuration source `micro config` commands use: `MICRO_CONFIG` at `MICRO_CONFIG_ADDRESS`,
/// or the options that override them; and the path.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("source"), help: "The config source: etcd, nats or consul. Overrides MICRO_CONFIG.") var source: String?
    @Option(name: .customLong("source-address"), help: "Where the source is (etcd members, NATS URLs, the Consul agent). Overrides MICRO_CONFIG_ADDRESS.")
    var sourceAddress: String?
    @Argument(help: "The path, dot-separated components of A-Z a-z 0-9 _ - (empty for the root).") var path: String = ""

    /// The path; throws ``ConfigError/Code/invalidPath``.
    func configPath() throws -> ConfigPath {
        try ConfigPath(path)
    }

    /// Runs `body` with the source, closed when it returns or throws.
    func withSource<T: Sendable>(_ global: GlobalOptions, _ body: (any ConfigSource) async throws -> T) async throws -> T {
        var environment = global.environment
        if let source { environment.config = source.lowercased() == "none" ? nil : source.lowercased() }
        if let sourceAddress { environment.configAddress = sourceAddress }
        guard let made = try GlobalOptions.engines.makeConfigSource(EngineContext(environment: environment)) else {
            throw ValidationError("no config source: set MICRO_CONFIG (etcd, nats or consul) or pass --source")
        }
        let result: T
        do { result = try await body(made) } catch {
            await made.shutdown()
            throw error
        }
        await made.shutdown()
        return result
    }
}
