import MicroCore
import NATSClient
import NIOCore

/// One message of a stream after its opening, as it travels between the two stream inboxes.
///
/// The kind is the `Micro-Frame` header:
/// - `accept` (server to client, reply subject = the server's stream inbox, `Micro-Stream-Window` = how
///   many unacknowledged messages the server takes);
/// - `data` (`Micro-Seq` = 1, 2, 3... per direction; the payload is the message);
/// - `end` (`Micro-Seq` = the number of data messages sent; the sender is done);
/// - `error` (server to client, `Micro-Error` = go-micro's error JSON; ends the stream);
/// - `ack` (`Micro-Ack` = data messages consumed so far; returns credit to the sender);
/// - `cancel` (client to server: the caller gave up);
/// - `ping` (sent as a request; the peer answers `pong` to its reply subject: a liveness probe).
struct NATSStreamFrame: Sendable {
    enum Kind: String, Sendable {
        case accept, data, end, error, ack, cancel, ping, pong
    }

    static let kindHeader = "Micro-Frame"
    static let seqHeader = "Micro-Seq"
    static let ackHeader = "Micro-Ack"
    static let windowHeader = "Micro-Stream-Window"

    var kind: Kind
    /// `data`/`end`: the sequence number; `ack`: the count acknowledged; `accept`: the window.
    var number: Int
    var error: MicroError?
    var replyTo: String?
    var payload: ByteBuffer

    /// The frame a stream message carries; a message that is not one throws a protocol violation.
    static func parse(_ message: NATSMessage, address: String) throws -> NATSStreamFrame {
        guard let headers = message.headers, let raw = headers[kindHeader] else {
            throw TransportError(.protocolViolation, address: address, detail: "stream message without a \(kindHeader) header")
        }
        guard let kind = Kind(rawValue: raw.lowercased()) else {
            throw TransportError(.protocolViolation, address: address, detail: "unknown stream frame \(raw.prefix(64).debugDescription)")
        }
        func number(_ name: String) throws -> Int {
            guard let text = headers[name], let n = Int(text), n >= 0 else {
                throw TransportError(.protocolViolation, address: address, detail: "\(kind.rawValue) frame without a valid \(name) header")
            }
            return n
        }
        var frame = NATSStreamFrame(kind: kind, number: 0, error: nil, replyTo: message.replyTo, payload: message.payload)
        switch kind {
        case .data, .end: frame.number = try number(seqHeader)
        case .ack: frame.number = try number(ackHeader)
        case .accept:
            frame.number = try number(windowHeader)
            guard frame.number > 0, let reply = message.replyTo, !reply.isEmpty else {
                throw TransportError(.protocolViolation, address: address, detail: "accept frame without a window or reply subject")
            }
        case .error:
            let text = headers[NATSRPCHeaders.error] ?? String(buffer: message.payload)
            frame.error = MicroError.parse(text)
            frame.number = (headers[seqHeader]).flatMap { Int($0) } ?? -1
        case .cancel, .ping, .pong:
            break
        }
        return frame
    }

    /// Headers for a frame of `kind`.
    static func headers(_ kind: Kind, number: Int? = nil) -> NATSHeaders {
        var h = NATSHeaders()
        h.add(kindHeader, kind.rawValue)
        switch kind {
        case .data, .end: if let number { h.add(seqHeader, String(number)) }
        case .ack: if let number { h.add(ackHeader, String(number)) }
        case .accept: if let number { h.add(windowHeader, String(number)) }
        case .error: if let number { h.add(seqHeader, String(number)) }
        case .cancel, .ping, .pong: break
        }
        return h
    }

    /// Headers for an `error` frame carrying `e`, after `sent` data messages.
    static func errorHeaders(_ e: MicroError, sent: Int) -> NATSHeaders {
        var h = headers(.error, number: sent)
        h.add(NATSRPCHeaders.error, NATSRPCHeaders.sendableValue(e.json))
        h.add(NATSRPCHeaders.contentType, "application/json")
        return h
    }
}
