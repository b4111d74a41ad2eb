import Foundation
import NIOCore

// Reading and deleting single stored messages.
extension JetStream {
    /// The stored message `selector` names in `stream`; nil when there is none. With `direct`, any
    /// server holding the stream answers (`DIRECT.GET`, which the stream must allow: ``StreamConfiguration/allowDirect``);
    /// otherwise the stream's leader does (`STREAM.MSG.GET`).
    public func message(stream: String, _ selector: MessageSelector, direct: Bool = false) async throws -> StoredMessage? {
        try Self.validateName(stream, "stream")
        if let subject = selector.subject { try Self.validateSubject(subject, wildcards: false) }
        let context = "get message of \(stream)"
        if direct {
            let reply = try await request(apiSubject("DIRECT.GET.\(stream)"), payload: try JetStreamJSON.payload(selector.request),
                                          headers: nil, context: context)
            return try Self.directMessage(reply, stream: stream, context: context)
        }
        let response: GetResponse
        do {
            response = try await call("STREAM.MSG.GET.\(stream)", selector.request, as: GetResponse.self)
        } catch let error as JetStreamError where error.errorCode == .noMessageFound {
            return nil
        }
        let m = response.message
        guard m.seq > 0 else { throw JetStreamError(.invalidResponse, "\(context): a message with sequence 0") }
        var headers: NATSHeaders?
        if let hdrs = m.hdrs, !hdrs.isEmpty {
            guard let bytes = Data(base64Encoded: hdrs) else { throw JetStreamError(.invalidResponse, "\(context): headers are not base64") }
            do {
                headers = try NATSHeaders.parse(ByteBuffer(data: bytes))
            } catch {
                throw JetStreamError(.invalidResponse, "\(context): stored headers do not parse: \(error)")
            }
        }
        var payload = ByteBuffer()
        if let data = m.data, !data.isEmpty {
            guard let bytes = Data(base64Encoded: data) else { throw JetStreamError(.invalidResponse, "\(context): data is not base64") }
            payload = ByteBuffer(data: bytes)
        }
        return StoredMessage(subject: m.subject, sequence: m.seq, headers: headers, payload: payload,
                             time: m.time.flatMap(JetStreamJSON.date(rfc3339:)))
    }

    /// The message a direct get answered with, nil for "404 Message Not Found".
    static func directMessage(_ reply: NATSMessage, stream: String, context: String) throws -> StoredMessage? {
        if let status = reply.status {
            switch status {
            case 404: return nil
            case 503: throw JetStreamError(.noResponders, "\(context): no responders (no such stream, or it does not allow direct gets)")
            default:
                throw JetStreamError(.api, "\(context): status \(status) \(reply.headers?.statusDescription ?? "")",
                                     api: JetStreamAPIError(code: status, errorCode: JetStreamErrorCode(rawValue: 0),
                                                            description: reply.headers?.statusDescription ?? ""))
            }
        }
        guard var headers = reply.headers, let subject = headers[JetStreamHeader.subject], !subject.isEmpty,
              let sequenceText = headers[JetStreamHeader.sequence], let sequence = UInt64(sequenceText), sequence > 0 else {
            throw JetStreamError(.invalidResponse, "\(context): a direct get answer without Nats-Subject and Nats-Sequence")
        }
        if let answered = headers[JetStreamHeader.stream], answered != stream {
            throw JetStreamError(.invalidResponse, "\(context): answered for stream \(answered.debugDescription)")
        }
        let time = headers[JetStreamHeader.timeStamp].flatMap(Self.directTime)
        for name in [JetStreamHeader.stream, JetStreamHeader.subject, JetStreamHeader.sequence, JetStreamHeader.timeStamp] { headers.remove(name) }
        return StoredMessage(subject: subject, sequence: sequence, headers: headers.isEmpty ? nil : headers, payload: reply.payload, time: time)
    }

    /// A direct get's `Nats-Time-Stamp`: RFC 3339, or Go's `2006-01-02 15:04:05.999999999 +0000 UTC`.
    static func directTime(_ text: String) -> Date? {
        if let date = JetStreamJSON.date(rfc3339: text) { return date }
        let parts = text.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        return JetStreamJSON.date(rfc3339: "\(parts[0])T\(parts[1])Z")
    }

    /// Deletes the message of `sequence` from `stream` (overwriting its bytes unless `erase` is false):
    /// true when it was there.
    @discardableResult
    public func deleteMessage(stream: String, sequence: UInt64, erase: Bool = false) async throws -> Bool {
        try Self.validateName(stream, "stream")
        struct Request: Encodable {
            var seq: UInt64
            var noErase: Bool?
            private enum CodingKeys: String, CodingKey { case seq, noErase = "no_erase" }
        }
        do {
            return try await call("STREAM.MSG.DELETE.\(stream)", Request(seq: sequence, noErase: erase ? nil : true), as: JetStreamSuccess.self).success ?? false
        } catch let error as JetStreamError where error.errorCode == .noMessageFound || error.errorCode?.rawValue == 10057 {
            return false
        }
    }
}
