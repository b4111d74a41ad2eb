import ArgumentParser

/// `micro sync lock|leader|observe`: locks and leader elections of the sync `MICRO_SYNC` names
/// (at `MICRO_SYNC_ADDRESS`), opened directly.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Hold a lock, lead an election or observe its leaders on MICRO_SYNC's engine.",
        subcommands: [SyncLockCommand.self, SyncLeaderCommand.self, SyncObserveCommand.self])
}
