import ArgumentParser
import Micro

/// `micro publish TOPIC JSON`: one message to a topic's subscribers.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish a JSON message to a topic.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Topic.") var topic: String
    @Argument(help: "Message JSON.") var message: String

    func run() async throws {
        try await runReporting {
            let body = try jsonBody(message)
            try await global.withClient { client in try await client.publish(topic, body, contentType: "application/json") }
            emit("published to \(topic)")
        }
    }
}
