import ArgumentParser
import Micro

/// `micro store delete KEY`: deletes a record (nothing to delete is no error).
struct StoreDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a record.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The key.") var key: String
    @Option(name: .customLong("if-revision"), help: "Delete only if the record is at this revision.") var ifRevision: UInt64?

    func run() async throws {
        try await runReporting {
            _ = try await store.withStore(global) { try await $0.delete(key, ifRevision: ifRevision) }
        }
    }
}
