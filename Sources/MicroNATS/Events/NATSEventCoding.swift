import Foundation
import MicroCore
import NATSClient
import NIOCore

/// How an ``MicroCore/Event`` travels as a JetStream message: the payload is the message's payload,
/// the subject is `<prefix>.<topic>`, and headers carry the rest:
///
/// - `Nats-Msg-Id: <topic>/<id>` (JetStream's deduplication is per stream, ids are per topic),
/// - `Micro-Event-Id: <id>`, `Micro-Event-Time: <milliseconds since 1970>`,
/// - `Micro-Event-Metadata: <JSON object of strings>` when there is metadata.
///
/// What comes back is untrusted: a message without these headers, with a topic or id that is not
/// valid, or larger than the limits, is ``MicroCore/EventsError/Code/malformed``.
enum NATSEventCoding {
    static let idHeader = "Micro-Event-Id"
    static let timeHeader = "Micro-Event-Time"
    static let metadataHeader = "Micro-Event-Metadata"

    /// The headers of `event`.
    static func headers(_ event: Event) -> NATSHeaders {
        var headers = NATSHeaders()
        headers.set(idHeader, event.id)
        headers.set(timeHeader, String(Event.epochMilliseconds(event.timestamp)))
        if !event.metadata.isEmpty { headers.set(metadataHeader, StoreMetadataCoding.encode(event.metadata)) }
        return headers
    }

    /// The JetStream message id of `event`.
    static func messageID(_ event: Event) -> String { "\(event.topic)/\(event.id)" }

    /// The event a stored or delivered message holds.
    static func event(subject: String, headers: NATSHeaders?, payload: ByteBuffer, sequence: UInt64,
                      configuration: NATSEventsConfiguration) throws -> Event {
        func malformed(_ why: String) -> EventsError {
            EventsError(.malformed, "message #\(sequence) on \(String(subject.prefix(160)).debugDescription) is not an event: \(why)")
        }
        guard let topic = configuration.topic(ofSubject: subject) else { throw malformed("not under \(configuration.subjectPrefix)") }
        guard let headers else { throw malformed("no headers") }
        guard let id = headers[idHeader] else { throw malformed("no \(idHeader)") }
        guard let timeText = headers[timeHeader], timeText.utf8.count <= 20, let milliseconds = Int64(timeText) else {
            throw malformed("no \(timeHeader) in milliseconds")
        }
        var metadata: [String: String] = [:]
        if let json = headers[metadataHeader] {
            guard json.utf8.count <= configuration.limits.maxMetadataBytes * 6 + 16,
                  let decoded = try? StoreMetadataCoding.decode(Array(json.utf8), key: id) else {
                throw malformed("\(metadataHeader) is not a JSON object of strings")
            }
            metadata = decoded
        }
        guard payload.readableBytes <= configuration.limits.maxPayloadBytes else {
            throw malformed("a payload of \(payload.readableBytes) bytes, the limit is \(configuration.limits.maxPayloadBytes)")
        }
        var event = Event(topic: topic, payload: Array(payload.readableBytesView), metadata: metadata, id: id,
                          timestamp: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        do {
            try configuration.limits.validate(event)
        } catch let error as EventsError {
            throw malformed(error.detail)
        }
        event.sequence = sequence
        return event
    }

    /// `error` from the NATS client as an ``MicroCore/EventsError`` (cancellation and events errors stay as they are).
    static func eventsError(_ error: any Error, _ context: String) -> any Error {
        if error is EventsError || error is CancellationError { return error }
        if let js = error as? JetStreamError {
            switch js.code {
            case .tooLarge: return EventsError(.tooLarge, "\(context): \(js.detail)")
            case .invalidArgument: return EventsError(.invalidArgument, "\(context): \(js.detail)")
            case .invalidResponse: return EventsError(.malformed, "\(context): \(js.detail)")
            case .api where js.errorCode == .messageExceedsMaximum || js.errorCode == .headerExceedsMaximum:
                return EventsError(.tooLarge, "\(context): \(js.detail)")
            default: return EventsError(.unavailable, "\(context): \(js.detail)")
            }
        }
        return EventsError(.unavailable, "\(context): \(error)")
    }
}
