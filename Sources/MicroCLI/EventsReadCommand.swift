import ArgumentParser
import Foundation
import Micro

/// `micro events read TOPIC`: the event store's events of a topic as JSON lines.
struct EventsReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Print stored events of a topic (MICRO_EVENT_STORE) as JSON lines.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Topic.") var topic: String
    @Option(help: "Events at or after this time (ISO 8601 or seconds since 1970).") var from: String?
    @Option(help: "Events before this time.") var to: String?
    @Option(help: "At most this many events (default 250).") var limit: Int = 250
    @Option(help: "Skip this many matching events first.") var offset: Int = 0
    @Flag(help: "Newest first.") var descending = false

    func run() async throws {
        try await runReporting {
            let query = EventQuery(from: try from.map { try EventsOutput.time($0, option: "--from") },
                                   to: try to.map { try EventsOutput.time($0, option: "--to") },
                                   limit: limit, offset: offset, order: descending ? .descending : .ascending)
            let events = try await EventsOutput.withStore(global) { store in try await store.read(topic, query) }
            for event in events { try emit(try EventsOutput.json(event)) }
        }
    }
}
