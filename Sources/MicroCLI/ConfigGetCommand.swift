import ArgumentParser
import Micro

/// `micro config get PATH`: the value at PATH of the merged configuration, as JSON.
struct ConfigGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Print the value at PATH of the merged configuration as JSON.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var config: ConfigOptions

    func run() async throws {
        try await runReporting {
            let path = try config.configPath()
            let tree = try await config.withSource(global) { source in try ConfigTree.merge(try await source.entries()) }
            guard let node = tree.node(at: path) else { throw ConfigError(.notFound, "nothing at '\(path)'") }
            try emit(String(decoding: node.jsonDocument(), as: UTF8.self))
        }
    }
}
