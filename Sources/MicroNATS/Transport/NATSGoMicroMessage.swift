import Foundation
import MicroCore
import NIOCore
import NIOFoundationCompat

/// go-micro's `transport.Message` as its own NATS transport sends it: `{"Header": {...}, "Body": "<base64>"}`
/// as the whole payload, no NATS headers (the same JSON as a broker message). A listener answers
/// such a unary call in kind, so go-micro services configured with `MICRO_TRANSPORT=nats` can call it.
enum NATSGoMicroMessage {
    /// The message, if the payload is one carrying go-micro's call headers.
    static func decode(_ payload: ByteBuffer) -> BrokerMessage? {
        guard payload.readableBytes > 1, payload.getInteger(at: payload.readerIndex, as: UInt8.self) == UInt8(ascii: "{") else { return nil }
        guard let message = try? JSONDecoder().decode(BrokerMessage.self, from: Data(buffer: payload, byteTransferStrategy: .noCopy)) else { return nil }
        guard message.header("Micro-Endpoint") != nil || message.header("Micro-Method") != nil
            || message.header("X-Micro-Endpoint") != nil || message.header("X-Micro-Method") != nil else { return nil }
        return message
    }

    /// The JSON of a message.
    static func encode(_ message: BrokerMessage) throws -> ByteBuffer {
        ByteBuffer(data: try JSONEncoder().encode(message))
    }

    /// The headers go-micro's server sets on an answer (its `setHeaders`): id, service, method and
    /// endpoint, each also with an `X-` prefix; the id under both spellings go-micro versions use.
    static func headers(for request: RPCRequest) -> [String: String] {
        var h: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            guard !value.isEmpty else { return }
            h[name] = value
            h["X-" + name] = value
        }
        set("Micro-Id", request.id)
        set("Micro-ID", request.id)
        set("Micro-Service", request.service)
        set("Micro-Method", request.endpoint)
        set("Micro-Endpoint", request.endpoint)
        return h
    }

    /// An error answer as go-micro's server writes one: `Micro-Error` holds the error JSON, no body.
    static func error(_ e: MicroError, request: RPCRequest) -> BrokerMessage {
        var h = headers(for: request)
        h["Micro-Error"] = e.json
        h["X-Micro-Error"] = e.json
        h["Content-Type"] = "application/json"
        return BrokerMessage(header: h, body: [])
    }
}
