import ArgumentParser
import Foundation
import Micro

/// `micro subscribe TOPIC`: prints each message's body as a JSON line until interrupted (or `--count` messages).
struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print messages published to a topic.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Topic.") var topic: String
    @Option(help: "Join this queue group (each message to one member).") var queue: String?
    @Option(help: "Exit after this many messages.") var count: Int?
    @Option(help: "Exit after this many seconds.") var duration: Double?

    func validate() throws {
        if let duration { try validateSeconds(duration, option: "--duration") }
    }

    func run() async throws {
        try await runReporting {
            try await global.withEngines { _, broker in
                let (messages, continuation) = AsyncStream<BrokerMessage>.makeStream()
                let subscription = try await broker.subscribe(topic, queue: queue) { event in continuation.yield(event.message) }
                let limit = count
                let printing: Result<Void, any Error>
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        if let duration {
                            group.addTask {
                                try? await Task.sleep(for: .seconds(duration))
                                continuation.finish()
                            }
                        }
                        var seen = 0
                        for await message in messages {
                            try emit(String(decoding: message.body, as: UTF8.self))
                            seen += 1
                            if let limit, seen >= limit { break }
                        }
                        group.cancelAll()
                    }
                    printing = .success(())
                } catch {
                    printing = .failure(error)   // stdout failed: unsubscribe all the same
                }
                try? await subscription.unsubscribe()
                try printing.get()
            }
        }
    }
}
