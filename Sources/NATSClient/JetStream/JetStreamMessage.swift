import NIOCore

/// A message a consumer delivered, with its metadata and the acknowledgements it takes.
///
/// Acknowledgements are published on the message's reply subject: ``ack()``, ``nak(delay:)`` (deliver
/// again, after `delay`), ``term()`` (never again), ``inProgress()`` (restart the ack wait).
/// ``ackSync(timeout:)`` waits until the server confirms the acknowledgement.
public struct JetStreamMessage: Sendable {
    /// The message as delivered.
    public let message: NATSMessage
    /// Stream, consumer, sequences and counts from the reply subject.
    public let metadata: JetStreamMessageMetadata
    private let connection: NATSConnection
    private let reply: String

    /// The subject it was published on.
    public var subject: String { message.subject }
    /// Its headers.
    public var headers: NATSHeaders? { message.headers }
    /// Its payload.
    public var payload: ByteBuffer { message.payload }

    /// A delivered message; throws ``JetStreamError/Code/invalidResponse`` unless its reply subject is
    /// a JetStream ack subject.
    init(_ message: NATSMessage, connection: NATSConnection) throws {
        guard let reply = message.replyTo else {
            throw JetStreamError(.invalidResponse, "a consumer message on \(message.subject) without a reply subject")
        }
        self.metadata = try JetStreamMessageMetadata(replySubject: reply)
        self.reply = reply
        self.message = message
        self.connection = connection
    }

    /// Acknowledges the message: it is done. With `confirm`, waits until the server has recorded it.
    public func ack(confirm: Bool = false) async throws { try await send("+ACK", confirm: confirm) }

    /// Acknowledges the message and waits until the server has recorded it (within `timeout`).
    public func ackSync(timeout: Duration = .seconds(5)) async throws { try await send("+ACK", confirm: true, timeout: timeout) }

    /// Asks for the message again, at once or after `delay`. With `confirm`, waits until the server has recorded it.
    public func nak(delay: Duration? = nil, confirm: Bool = false) async throws {
        if let delay {
            try await send("-NAK {\"delay\":\(JetStreamJSON.nanoseconds(delay))}", confirm: confirm)
        } else {
            try await send("-NAK", confirm: confirm)
        }
    }

    /// Stops delivering the message, whether or not it was processed. With `confirm`, waits until the server has recorded it.
    public func term(confirm: Bool = false) async throws { try await send("+TERM", confirm: confirm) }

    /// Says the message is still being worked on: its ack wait starts again. With `confirm`, waits until the server has recorded it.
    public func inProgress(confirm: Bool = false) async throws { try await send("+WPI", confirm: confirm) }

    /// Publishes an acknowledgement on the reply subject; with `confirm`, as a request the server answers once it recorded it.
    private func send(_ text: String, confirm: Bool, timeout: Duration = .seconds(5)) async throws {
        do {
            if confirm {
                _ = try await connection.request(reply, payload: ByteBuffer(string: text), timeout: timeout)
            } else {
                try await connection.publish(reply, payload: ByteBuffer(string: text))
            }
        } catch {
            throw JetStreamError.wrapping(error, "acknowledgement of \(metadata.stream) #\(metadata.streamSequence)")
        }
    }
}
