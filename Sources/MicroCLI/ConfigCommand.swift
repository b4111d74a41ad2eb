import ArgumentParser

/// `micro config get|set|delete|watch PATH`: the shared configuration `MICRO_CONFIG` names (etcd,
/// NATS, Consul) at `MICRO_CONFIG_ADDRESS`, in go-micro's layout (JSON documents merged by path).
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read, write, delete and watch the shared configuration (MICRO_CONFIG: etcd, nats or consul).",
        subcommands: [ConfigGetCommand.self, ConfigSetCommand.self, ConfigDeleteCommand.self, ConfigWatchCommand.self])
}
