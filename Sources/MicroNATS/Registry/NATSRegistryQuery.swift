import Foundation
import Logging
import MicroCore
import NATSClient
import NIOConcurrencyHelpers
import NIOCore

/// One registry query: publish on the query topic with a fresh reply inbox, then collect the
/// answers (each a go-micro Service JSON) until none came for a quiet period.
///
/// The wait is at least `queryTimeout` (go-micro waits exactly that), then goes on while answers keep
/// arriving less than `quietPeriod` apart, and never past `maxQueryTime`. Answers are merged as
/// go-micro merges them: nodes of the same name and version into one record.
enum NATSRegistryQuery {
    static func run(_ query: NATSRegistryResult, on connection: NATSConnection, configuration: NATSRegistryConfiguration,
                    logger: Logger) async throws -> RegistryState {
        let inbox = connection.newInbox()
        let subscription = try connection.subscribe(inbox)
        let collected = NIOLockedValueBox((found: RegistryState(), last: ContinuousClock.now, answers: 0))
        let start = ContinuousClock.now
        do {
            try await connection.publish(configuration.queryTopic, payload: ByteBuffer(data: try NATSRegistry.encoder.encode(query)), replyTo: inbox)
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in subscription {
                    let record: ServiceRecord
                    do {
                        record = try NATSRegistry.decoder.decode(ServiceRecord.self, from: Data(buffer: message.payload, byteTransferStrategy: .noCopy))
                    } catch {
                        logger.debug("ignoring a malformed registry answer", metadata: ["error": "\(error)"])
                        continue
                    }
                    collected.withLockedValue { c in
                        _ = c.found.register(record, ttl: nil)
                        c.last = .now
                        c.answers += 1
                    }
                }
            }
            // The clock: ends the collection, and with it the subscription the reader waits on.
            let end = start + configuration.maxQueryTime
            while true {
                let (last, answers) = collected.withLockedValue { ($0.last, $0.answers) }
                var until = start + configuration.queryTimeout
                if answers > 0 { until = max(until, last + configuration.quietPeriod) }
                until = min(until, end)
                if ContinuousClock.now >= until || Task.isCancelled { break }
                try? await Task.sleep(until: until, clock: .continuous)
            }
            try? subscription.unsubscribe()
            group.cancelAll()
        }
        try Task.checkCancellation()
        return collected.withLockedValue { $0.found }
    }
}
