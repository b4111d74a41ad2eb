import ArgumentParser
import Micro

/// `micro store tables [--database D]`: the tables of a database, one a line.
struct StoreTablesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tables", abstract: "List the tables of the database.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await runReporting {
            for name in try await store.withStore(global, { try await $0.tables() }) { try emit(name) }
        }
    }
}
