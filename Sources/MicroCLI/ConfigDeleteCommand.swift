import ArgumentParser
import Micro

/// `micro config delete PATH`: removes the document stored at PATH (an error when there is none).
struct ConfigDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove the document stored at PATH.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var config: ConfigOptions

    func run() async throws {
        try await runReporting {
            let path = try config.configPath()
            let deleted = try await config.withSource(global) { source in try await source.delete(path) }
            guard deleted else { throw ConfigError(.notFound, "no document at '\(path)'") }
        }
    }
}
