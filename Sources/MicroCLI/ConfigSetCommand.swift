import ArgumentParser
import Micro

/// `micro config set PATH VALUE`: stores the JSON document VALUE at PATH (the key below the source's
/// prefix), replacing the one there; refused unless it is JSON within the config limits.
struct ConfigSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Store a JSON document at PATH.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var config: ConfigOptions
    @Argument(help: "The JSON document: the text itself, - for stdin, or @path for a file.") var value: String

    func run() async throws {
        try await runReporting {
            let path = try config.configPath()
            let document = try MessageInput.bytes(value)
            try await config.withSource(global) { source in try await source.put(path, document: document) }
        }
    }
}
