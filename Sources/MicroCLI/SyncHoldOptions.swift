import ArgumentParser

/// How `micro sync lock` and `micro sync leader` hold: TTL, wait and holder.
struct SyncHoldOptions: ParsableArguments {
    @Option(help: "How long the lock outlives its holder without renewal, e.g. 10s (default); renewed every third of it.")
    var ttl: String = "10s"
    @Option(help: "Give up when not held within this long, e.g. 5s (default: wait until interrupted).") var wait: String?
    @Option(help: "The holder's identity (default: host name and process id).") var holder: String?

    func ttlDuration() throws -> Duration { try StoreOptions.duration(ttl) }
    func waitDuration() throws -> Duration? { try wait.map(StoreOptions.duration) }
}
