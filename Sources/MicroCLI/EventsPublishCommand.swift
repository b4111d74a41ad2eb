import ArgumentParser
import Foundation
import Micro

/// `micro events publish TOPIC [PAYLOAD]`: publishes one event and prints its receipt as JSON.
struct EventsPublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "publish", abstract: "Publish an event and print its receipt.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Topic, e.g. orders.created.") var topic: String
    @Argument(help: "The payload: the text itself, - for stdin (the default), @path for a file.") var payload: String = "-"
    @Option(help: "The event's id (default a fresh UUID); a second publish of an id stores nothing.") var id: String?
    @Option(name: .customLong("metadata"), help: "Metadata as name=value (repeatable).") var metadata: [String] = []

    func run() async throws {
        try await runReporting {
            var fields: [String: String] = [:]
            for pair in metadata {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("--metadata is name=value, not '\(pair)'")
                }
                fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            let bytes = try MessageInput.bytes(payload)
            let receipt = try await EventsOutput.withStream(global) { stream in
                try await stream.publish(topic, bytes, metadata: fields, id: id)
            }
            let object: [String: Any] = ["id": receipt.id, "sequence": receipt.sequence, "duplicate": receipt.duplicate]
            try emit(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}
