import NIOCore

// Publishing to a stream and waiting for its acknowledgement.
extension JetStream {
    /// Publishes `payload` on `subject` and waits for the stream's acknowledgement.
    ///
    /// Throws ``JetStreamError/Code/noResponders`` when no stream takes the subject, and the server's
    /// API error when a check of `options` fails (``JetStreamError/isWrongLastSequence`` for the
    /// expected sequences) or the stream refuses the message.
    @discardableResult
    public func publish(_ subject: String, payload: ByteBuffer, headers: NATSHeaders? = nil,
                        options: PublishOptions = PublishOptions()) async throws -> PublishAck {
        try Self.validateSubject(subject, wildcards: false)
        let reply = try await request(subject, payload: payload, headers: options.apply(to: headers), context: "publish to \(subject)")
        let ack = try decode(PublishAck.self, from: reply, context: "publish to \(subject)")
        guard ack.sequence > 0 else { throw JetStreamError(.invalidResponse, "publish to \(subject): acknowledged with sequence 0") }
        return ack
    }

    /// Publishes `bytes` on `subject` and waits for the stream's acknowledgement.
    @discardableResult
    public func publish(_ subject: String, bytes: [UInt8], headers: NATSHeaders? = nil,
                        options: PublishOptions = PublishOptions()) async throws -> PublishAck {
        try await publish(subject, payload: ByteBuffer(bytes: bytes), headers: headers, options: options)
    }
}
