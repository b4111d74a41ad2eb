import ArgumentParser

/// `micro store read|write|delete|list|databases|tables|serve`: a store service's records
/// (`go.micro.store`, found in the registry like `micro call` finds services), or with `--local` the
/// store `MICRO_STORE` names, opened directly.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Read, write, delete and list records of a store service (or, with --local, of MICRO_STORE's store).",
        subcommands: [StoreReadCommand.self, StoreWriteCommand.self, StoreDeleteCommand.self, StoreListCommand.self,
                      StoreDatabasesCommand.self, StoreTablesCommand.self, StoreServeCommand.self])
}
