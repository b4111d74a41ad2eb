import ArgumentParser
import Foundation
import Micro
import NIOCore
import NIOPosix
import Synchronization

struct PubSubBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubsub",
        abstract: "HTTP broker publish → broadcast subscriber vs. a raw SwiftNIO handler decoding the same envelope.")

    @OptionGroup var options: CommonOptions
    @Option(help: "Message body size in bytes (a JSON document, base64 in the envelope).")
    var size: Int = 64

    func run() async throws {
        let o = options
        o.banner("micro-bench pubsub — HTTPBroker, one broadcast subscriber, \(size)-byte messages")

        let topic = "bench.events"
        let registry = MemoryRegistry()
        let subscriberBroker = HTTPBroker(registry: registry, registerInterval: .seconds(3600))
        let publisherBroker = HTTPBroker(registry: registry, registerInterval: .seconds(3600))
        let received = Counter()
        let subscription = try await subscriberBroker.subscribe(topic, queue: nil) { _ in received.add() }

        let fill = max(0, size - 11)
        let payload = Array(("{\"data\":\"" + String(repeating: "x", count: fill) + "\"}").utf8)
        let message = BrokerMessage(header: ["Content-Type": "application/json", "Micro-Id": "bench-1"], body: payload)

        // The baseline: the envelope HTTPBroker puts on the wire, POSTed by the NIO generator to a raw handler.
        var wire = message
        wire.header["Micro-Topic"] = topic
        let envelope = Array(try JSONEncoder().encode(wire))
        let raw = try await RawNIOServer.start(work: .brokerEnvelope)
        let generatorGroup = MultiThreadedEventLoopGroup(numberOfThreads: o.generatorThreads)
        let generator = LoadGenerator(host: "127.0.0.1", port: raw.port,
                                      request: LoadGenerator.encode(path: "/?id=\(topic)-bench", host: "127.0.0.1",
                                                                    headers: [("Content-Type", "application/json")], body: envelope),
                                      connections: o.concurrency, group: generatorGroup)
        print("envelope: \(envelope.count) bytes on the wire body")

        var rawRuns: [RunResult] = []
        var brokerRuns: [RunResult] = []
        printHeader(delivered: true)
        for round in 1...o.rounds {
            let r = try await generator.run(label: "raw-nio envelope POST", warmup: o.warmup, seconds: o.seconds)
            report(round: round, r)
            rawRuns.append(r)

            let recordFrom = nowNanos() + UInt64(o.warmup * 1e9)
            let recordUntil = recordFrom + UInt64(o.seconds * 1e9)
            async let deliveredInWindow = received.count(from: recordFrom, until: recordUntil)
            var b = await runTasks(label: "http-broker publish", concurrency: o.concurrency, warmup: o.warmup, seconds: o.seconds,
                                 startingAt: recordFrom) {
                try await publisherBroker.publish(topic, message)
            }
            b.delivered = await deliveredInWindow
            report(round: round, b)
            brokerRuns.append(b)
        }
        if let sample = rawRuns.first?.sample { print("  raw-nio answered: \(sample)") }

        print("")
        print("best of \(o.rounds):")
        printHeader(delivered: true)
        let bestRaw = RunResult.best(rawRuns)!
        let bestBroker = RunResult.best(brokerRuns)!
        print(Table.pad("", 11) + Table.rateRow(bestRaw))
        print(Table.pad("", 11) + Table.rateRow(bestBroker))
        print("")
        print(Table.ratioRow("http-broker publish / raw-nio", bestBroker.requestsPerSecond / bestRaw.requestsPerSecond, target: o.target))
        print("  subscriber received \(received.value) messages in all")

        try await subscription.unsubscribe()
        await publisherBroker.shutdown()
        await subscriberBroker.shutdown()
        await raw.shutdown()
        try await generatorGroup.shutdownGracefully()
    }
}

/// A message counter shared with the subscriber's handler.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }

    /// How many were counted between two points on `nowNanos()`'s clock.
    func count(from: UInt64, until: UInt64) async -> Int {
        await sleep(untilNanos: from)
        let start = value
        await sleep(untilNanos: until)
        return value - start
    }
}
