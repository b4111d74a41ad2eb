import Logging
import MicroCore
import NATSClient
import NIOCore

/// What one side of a stream does with the messages arriving on its inbox, and how it checks that
/// the peer is still there. Used by both ends.
enum NATSStreamDispatcher {
    enum Role: Sendable, CustomStringConvertible {
        case client, server
        var description: String { self == .client ? "client" : "server" }
    }

    enum Outcome: Sendable {
        /// The server finished the stream (client side).
        case finished
        /// The client cancelled (server side).
        case cancelled
        /// The stream broke; the flow is aborted with this error.
        case failed(any Error)
        /// The inbox subscription ended (unsubscribed, or the connection closed).
        case subscriptionEnded
    }

    /// Feeds the inbox's frames to `flow` until the stream ends for this side.
    static func run(_ subscription: NATSSubscription, flow: NATSStreamFlow, connection: NATSConnection, role: Role) async -> Outcome {
        for await message in subscription {
            flow.heard()
            if let status = message.status {
                // The only status a stream inbox gets: 503, nobody subscribed the subject the stream was opened on.
                let e: any Error = status == 503
                    ? TransportError(.connectFailed, address: flow.address, detail: "no listener on subject \(flow.address)")
                    : TransportError(.protocolViolation, address: flow.address, detail: "unexpected NATS status \(status)")
                flow.abort(e)
                return .failed(e)
            }
            do {
                let frame = try NATSStreamFrame.parse(message, address: flow.address)
                switch (frame.kind, role) {
                case (.accept, .client):
                    flow.accepted(inbox: frame.replyTo ?? "", window: frame.number)
                case (.data, _):
                    try flow.received(seq: frame.number, payload: frame.payload)
                case (.end, .client):
                    try flow.ended(count: frame.number, peerDone: true)
                    return .finished
                case (.end, .server):
                    try flow.ended(count: frame.number, peerDone: false)
                case (.error, .client):
                    try flow.ended(count: frame.number, error: frame.error ?? MicroError.internalServerError("go.micro.server", "stream failed"), peerDone: true)
                    return .finished
                case (.ack, _):
                    try flow.acknowledged(frame.number)
                case (.cancel, .server):
                    flow.abort(CancellationError())
                    return .cancelled
                case (.ping, _):
                    if let reply = message.replyTo, !reply.isEmpty {
                        try? await connection.publish(reply, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.pong))
                    }
                case (.pong, _):
                    break
                default:
                    throw TransportError(.protocolViolation, address: flow.address, detail: "a \(role) does not expect a \(frame.kind.rawValue) frame")
                }
            } catch {
                flow.abort(error)
                return .failed(error)
            }
        }
        return .subscriptionEnded
    }

    /// Probes the peer whenever nothing was heard from it for `interval`: a `ping` request to its inbox.
    /// Returns (with the flow aborted) once the peer is gone: its inbox has no subscriber (503), or two
    /// probes in a row went unanswered. Returns nil when cancelled.
    static func keepAlive(flow: NATSStreamFlow, connection: NATSConnection, interval: Duration) async -> Outcome? {
        var misses = 0
        let step = interval.timeAmount
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return nil }
            guard let inbox = flow.peerInbox, !inbox.isEmpty else { continue }
            if NIODeadline.now() - flow.lastHeard < step { misses = 0; continue }
            do {
                _ = try await connection.request(inbox, payload: ByteBuffer(), headers: NATSStreamFrame.headers(.ping), timeout: interval)
                flow.heard()
                misses = 0
            } catch let e as NATSError where e.code == .noResponders {
                let error = TransportError(.connectionClosed, address: flow.address, detail: "the stream's peer went away")
                flow.abort(error)
                return .failed(error)
            } catch {
                if Task.isCancelled { return nil }
                misses += 1
                if misses >= 2 {
                    let error = TransportError(.connectionClosed, address: flow.address, detail: "the stream's peer stopped answering")
                    flow.abort(error)
                    return .failed(error)
                }
            }
        }
        return nil
    }
}
