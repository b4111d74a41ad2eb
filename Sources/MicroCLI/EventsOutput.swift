import ArgumentParser
import Foundation
import Micro

/// How `micro events` commands open their engines and print events.
enum EventsOutput {
    /// Runs `body` with the event stream `MICRO_EVENTS` names, shut down afterwards.
    static func withStream<T: Sendable>(_ global: GlobalOptions, _ body: (any EventStream) async throws -> T) async throws -> T {
        let stream = try GlobalOptions.engines.makeEventStream(EngineContext(environment: global.environment))
        return try await closing(stream) { try await body(stream) }
    }

    /// Runs `body` with the event store `MICRO_EVENT_STORE` names, shut down afterwards.
    static func withStore<T: Sendable>(_ global: GlobalOptions, _ body: (any EventStore) async throws -> T) async throws -> T {
        let store = try GlobalOptions.engines.makeEventStore(EngineContext(environment: global.environment))
        return try await closing(store) { try await body(store) }
    }

    private static func closing<T: Sendable>(_ engine: any Engine, _ body: () async throws -> T) async throws -> T {
        let result: T
        do { result = try await body() } catch {
            await engine.shutdown()
            throw error
        }
        await engine.shutdown()
        return result
    }

    /// An event as one line of JSON: the payload as text when it is UTF-8, else as `payload_base64`.
    static func json(_ event: Event) throws -> String {
        var object: [String: Any] = ["id": event.id, "topic": event.topic, "metadata": event.metadata, "sequence": event.sequence,
                                     "timestamp": Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(event.timestamp)]
        if event.deliveries > 0 { object["deliveries"] = event.deliveries }
        if let text = String(validating: event.payload, as: UTF8.self) {
            object["payload"] = text
        } else {
            object["payload_base64"] = Data(event.payload).base64EncodedString()
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// A time argument: ISO 8601 (`2026-12-07T12:00:00Z`, fractions allowed) or seconds since 1970.
    static func time(_ text: String, option: String) throws -> Date {
        if let seconds = Double(text), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        throw ValidationError("\(option) is an ISO 8601 time (2026-12-07T12:00:00Z) or seconds since 1970, not '\(text)'")
    }
}
