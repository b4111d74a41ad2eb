import ArgumentParser
import Micro

/// `micro publish TOPIC [JSON | - | @FILE]`: one message (the argument, stdin or a file) to a topic's subscribers.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish a JSON message to a topic.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Topic.") var topic: String
    @Argument(help: "Message JSON; - or none reads it from stdin, @FILE from a file.") var message: String?

    func run() async throws {
        try await runReporting {
            let body = try MessageInput.body(message)
            try await global.withClient { client in try await client.publish(topic, body, contentType: "application/json") }
            try emit("published to \(topic)")
        }
    }
}
