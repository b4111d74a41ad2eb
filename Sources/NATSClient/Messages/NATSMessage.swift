import NIOCore

/// A message delivered by the server (`MSG` or `HMSG`), or the answer to a request.
public struct NATSMessage: Sendable {
    /// The subject it was published to.
    public var subject: String
    /// Where to send an answer, if the publisher asked for one.
    public var replyTo: String?
    /// The headers of an `HMSG` (nil for a plain `MSG`).
    public var headers: NATSHeaders?
    /// The payload (headers excluded).
    public var payload: ByteBuffer
    /// The status code of the header status line (e.g. 503, no responders), if any.
    public var status: Int? { headers?.status }

    /// Creates a message.
    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: ByteBuffer) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }
}
