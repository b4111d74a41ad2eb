import ArgumentParser
import Foundation
import Micro

/// `micro events consume TOPIC`: prints each event as a JSON line and acknowledges it once printed,
/// until interrupted, `--count` events or `--duration` seconds.
struct EventsConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consume", abstract: "Print events of a topic as JSON lines, acknowledging each.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Topic.") var topic: String
    @Option(help: "Consumer group (members share events; the group keeps its place). Default: a group of this command alone.")
    var group: String?
    @Option(help: "Where a new group starts: beginning, new (default), a sequence number, or a time (ISO 8601).") var start: String = "new"
    @Option(help: "How long an event may go unacknowledged before it is delivered again, e.g. 30s (default).") var ackWait: String = "30s"
    @Option(help: "Deliveries before an event goes to the dead-letter topic (default: no limit).") var maxDeliveries: Int?
    @Option(help: "The dead-letter topic (default TOPIC.dead).") var deadLetter: String?
    @Flag(help: "Print without acknowledging (the events are delivered again after the ack wait).") var noAck = false
    @Option(help: "Exit after this many events.") var count: Int?
    @Option(help: "Exit after this many seconds.") var duration: Double?

    func validate() throws {
        if let duration { try validateSeconds(duration, option: "--duration") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func position() throws -> EventStartPosition {
        switch start {
        case "beginning": return .beginning
        case "new": return .new
        default:
            if let sequence = UInt64(start) { return .sequence(sequence) }
            return .time(try EventsOutput.time(start, option: "--start"))
        }
    }

    func run() async throws {
        try await runReporting {
            let options = ConsumeOptions(group: group, start: try position(), ackWait: try StoreOptions.duration(ackWait),
                                         maxDeliveries: maxDeliveries, deadLetterTopic: deadLetter)
            try await EventsOutput.withStream(global) { stream in
                let consumer = try await stream.consume(topic, options: options)
                let limit = count
                let acknowledge = !noAck
                let printing: Result<Void, any Error>
                do {
                    try await withThrowingTaskGroup(of: Void.self) { tasks in
                        if let duration {
                            tasks.addTask {
                                try? await Task.sleep(for: .seconds(duration))
                                await consumer.close()
                            }
                        }
                        var seen = 0
                        for try await event in consumer {
                            try emit(try EventsOutput.json(event))
                            if acknowledge { try await event.ack() }
                            seen += 1
                            if let limit, seen >= limit { break }
                        }
                        tasks.cancelAll()
                    }
                    printing = .success(())
                } catch {
                    printing = .failure(error)
                }
                await consumer.close()
                try printing.get()
            }
        }
    }
}
