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

    /// Acknowledges the message: it is done.
    public func ack() async throws { try await send("+ACK") }

    /// Acknowledges the message and waits until the server has recorded it.
    public func ackSync(timeout: Duration = .seconds(5)) async throws {
        do {
            _ = try await connection.request(reply, payload: ByteBuffer(string: "+ACK"), timeout: timeout)
        } catch {
            throw JetStreamError.wrapping(error, "ack of \(metadata.stream) #\(metadata.streamSequence)")
        }
    }

    /// Asks for the message again, at once or after `delay`.
    public func nak(delay: Duration? = nil) async throws {
        if let delay {
            try await send("-NAK {\"delay\":\(JetStreamJSON.nanoseconds(delay))}")
        } else {
            try await send("-NAK")
        }
    }

    /// Stops delivering the message, whether or not it was processed.
    public func term() async throws { try await send("+TERM") }

    /// Says the message is still being worked on: its ack wait starts again.
    public func inProgress() async throws { try await send("+WPI") }

    private func send(_ text: String) async throws {
        do {
            try await connection.publish(reply, payload: ByteBuffer(string: text))
        } catch {
            throw JetStreamError.wrapping(error, "acknowledgement of \(metadata.stream) #\(metadata.streamSequence)")
        }
    }
}
