import ArgumentParser
import Logging
import Micro

/// `micro config watch PATH`: prints the value at PATH as a JSON line now and after each change
/// (`null` when it is gone); a set of documents that does not merge is reported on stderr and skipped.
struct ConfigWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Print the value at PATH now and after each change.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var config: ConfigOptions
    @Option(help: "Stop after printing this many values.") var count: Int?

    func run() async throws {
        try await runReporting {
            let path = try config.configPath()
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
            let logger = Logger(label: "micro.config")
            try await config.withSource(global) { source in
                var printed = 0
                var last: ConfigNode??
                for try await entries in try await source.watch() {
                    let tree: ConfigTree
                    do { tree = try ConfigTree.merge(entries) } catch {
                        logger.warning("skipped a configuration that does not merge: \(error)")
                        continue
                    }
                    let node = tree.node(at: path)
                    if let last, last == node { continue }
                    last = .some(node)
                    try emit(node.map { String(decoding: $0.jsonDocument(), as: UTF8.self) } ?? "null")
                    printed += 1
                    if let count, printed >= count { return }
                }
            }
        }
    }
}
