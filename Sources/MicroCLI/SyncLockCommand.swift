import ArgumentParser
import Micro

/// `micro sync lock NAME --ttl 10s [-- COMMAND...]`: takes the lock, prints its token, and holds it
/// until Ctrl-C (SIGINT or SIGTERM) or until COMMAND ends.
struct SyncLockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Take a lock and hold it until Ctrl-C, or while a command runs (after --).",
        discussion: """
            Prints {"lock":NAME,"holder":...,"token":N} once held. The command gets MICRO_SYNC_TOKEN (its fencing \
            token) and MICRO_SYNC_HOLDER; its exit status is this command's. A lost lock stops the command and \
            exits 1; a lock not free within --wait exits 1 with a timeout error.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var hold: SyncHoldOptions
    @Argument(help: "Lock name.") var name: String
    @Argument(parsing: .postTerminator, help: "A command to run while holding (after --); without one, hold until Ctrl-C.")
    var command: [String] = []

    func run() async throws {
        try await runReporting {
            try await SyncHolding.withSync(global) { sync in
                let lease = try await sync.lock(name, ttl: try hold.ttlDuration(), wait: try hold.waitDuration(), holder: hold.holder)
                try emit(SyncHolding.json(["lock": name, "holder": lease.holder, "token": lease.token.value]))
                return try await SyncHolding.hold(lease, running: command)
            }
        }
    }
}
