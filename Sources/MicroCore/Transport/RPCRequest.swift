import NIOCore

/// One call as a transport carries it: go-micro's headers (service, endpoint, content type, id,
/// timeout, metadata) and the encoded body.
public struct RPCRequest: Sendable {
    /// The service called, e.g. `greeter`.
    public var service: String
    /// The endpoint, e.g. `Greeter.Hello`.
    public var endpoint: String
    /// The body's content type.
    public var contentType: String
    /// The caller's metadata.
    public var metadata: Metadata
    /// When the caller gives up, if it said.
    public var deadline: NIODeadline?
    /// A request id (`Micro-Id`).
    public var id: String
    /// True for streaming calls (`Micro-Stream`).
    public var isStream: Bool
    /// The encoded request (empty for a stream's head).
    public var body: ByteBuffer
    /// The identity of the peer's client certificate, set only by a transport that verified it over
    /// mutual TLS (SAN URI, else SAN DNS name, else subject CN), never from anything the caller sends;
    /// ``AuthHandlerWrapper`` makes it an account (``Account/certificate(_:)``) when no token came.
    public var peerIdentity: String?

    /// Creates a request.
    public init(service: String, endpoint: String, contentType: String = "application/json", metadata: Metadata = Metadata(),
                deadline: NIODeadline? = nil, id: String = "", isStream: Bool = false, body: ByteBuffer = ByteBuffer()) {
        self.service = service
        self.endpoint = endpoint
        self.contentType = contentType
        self.metadata = metadata
        self.deadline = deadline
        self.id = id
        self.isStream = isStream
        self.body = body
    }
}

/// A successful answer as a transport carries it; failures travel as ``MicroError``.
public struct RPCResponse: Sendable {
    /// The body's content type.
    public var contentType: String
    /// Metadata the handler sent back.
    public var metadata: Metadata
    /// The encoded response.
    public var body: ByteBuffer

    /// Creates a response.
    public init(contentType: String, metadata: Metadata = Metadata(), body: ByteBuffer) {
        self.contentType = contentType
        self.metadata = metadata
        self.body = body
    }
}
