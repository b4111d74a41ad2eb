import ArgumentParser
import Micro

/// `micro store list`: the keys, one a line, in byte order.
struct StoreListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys, one a line.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions
    @Option(help: "Only keys starting with this.") var prefix: String = ""
    @Option(help: "Only keys ending with this.") var suffix: String = ""
    @Option(help: "At most this many keys.") var limit: Int?
    @Option(help: "Skip this many matching keys first.") var offset: Int = 0

    func run() async throws {
        try await runReporting {
            let keys = try await store.withStore(global) {
                try await $0.list(StoreQuery(prefix: prefix, suffix: suffix, limit: limit, offset: offset))
            }
            for key in keys { try emit(key) }
        }
    }
}
