import MicroCore
import NATSClient

/// How NATS client failures become the transport's errors: what a caller (and its selector) can act on.
enum NATSTransportErrors {
    /// The error to report for `error`, raised while talking to `address` (a subject).
    static func map(_ error: any Error, address: String) -> any Error {
        guard let e = error as? NATSError else { return error }
        switch e.code {
        case .noResponders:
            return TransportError(.connectFailed, address: address, detail: "no listener on subject \(address)")
        case .timeout:
            return TransportError(.timeout, address: address, detail: "deadline exceeded")
        case .maxPayloadExceeded:
            return MicroError.tooLarge("go.micro.client", "message exceeds the NATS server's max_payload: \(e.detail)")
        case .badSubject:
            return TransportError(.connectFailed, address: address, detail: "not a NATS subject: \(e.detail)")
        case .badHeader:
            return MicroError.badRequest("go.micro.client", "metadata cannot be sent as NATS headers: \(e.detail)")
        case .closed, .draining:
            return TransportError(.shutdown, address: address, detail: "\(e)")
        case .connectFailed:
            return TransportError(.connectFailed, address: address, detail: "\(e)")
        case .connectionClosed, .reconnectBufferExceeded:
            return TransportError(.connectionClosed, address: address, detail: "\(e)")
        default:
            return TransportError(.protocolViolation, address: address, detail: "\(e)")
        }
    }
}
