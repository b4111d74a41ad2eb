import ArgumentParser
import Micro

/// `micro sync leader NAME --ttl 10s [-- COMMAND...]`: campaigns, prints the term once leading, and
/// leads until Ctrl-C (SIGINT or SIGTERM) or until COMMAND ends.
struct SyncLeaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leader",
        abstract: "Campaign in an election and lead until Ctrl-C, or while a command runs (after --).",
        discussion: """
            Prints {"leader":NAME,"holder":...,"term":N} once leading. The command gets MICRO_SYNC_TOKEN (the term) \
            and MICRO_SYNC_HOLDER; its exit status is this command's. Losing leadership stops the command and exits 1.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var hold: SyncHoldOptions
    @Argument(help: "Election name.") var name: String
    @Argument(parsing: .postTerminator, help: "A command to run while holding (after --); without one, hold until Ctrl-C.")
    var command: [String] = []

    func run() async throws {
        try await runReporting {
            try await SyncHolding.withSync(global) { sync in
                let term = try await sync.leader(name).campaign(ttl: try hold.ttlDuration(), wait: try hold.waitDuration(), holder: hold.holder)
                try emit(SyncHolding.json(["leader": name, "holder": term.lease.holder, "term": term.term.value]))
                return try await SyncHolding.hold(term.lease, running: command)
            }
        }
    }
}
