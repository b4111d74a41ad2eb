import NIOCore

/// What an extra `GET` path on a service's HTTP port answers (``Router/serveHTTP(get:_:)``): a body and its type.
public struct HTTPGetResponse: Sendable {
    /// The `Content-Type`.
    public var contentType: String
    /// The body.
    public var body: ByteBuffer

    /// Creates a response.
    public init(contentType: String, body: ByteBuffer) {
        self.contentType = contentType
        self.body = body
    }
}
