import ArgumentParser

/// `micro events publish|consume|read`: the event stream `MICRO_EVENTS` names (and the event store
/// `MICRO_EVENT_STORE` names, for `read`), opened directly.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Publish and consume events of MICRO_EVENTS's stream; read MICRO_EVENT_STORE's event store.",
        subcommands: [EventsPublishCommand.self, EventsConsumeCommand.self, EventsReadCommand.self])
}
