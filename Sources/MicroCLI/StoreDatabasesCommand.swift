import ArgumentParser
import Micro

/// `micro store databases`: the store's databases, one a line.
struct StoreDatabasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "databases", abstract: "List the databases.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await runReporting {
            for name in try await store.withStore(global, { try await $0.databases() }) { try emit(name) }
        }
    }
}
