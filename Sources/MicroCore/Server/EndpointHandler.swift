import NIOCore

/// One endpoint's handler, type-erased to bytes in and bytes out, with the description that goes
/// into the registry record.
public struct EndpointHandler: Sendable {
    /// The unary form: decode, handle, encode.
    public typealias Unary = @Sendable (RPCRequest, HandlerContext, any Codec) async throws -> ByteBuffer
    /// The streaming form: messages in, messages out.
    public typealias Streaming = @Sendable (RPCRequest, HandlerContext, any Codec, MessageReader, MessageWriter) async throws -> Void

    /// How the endpoint is served.
    public enum Body: Sendable {
        case unary(Unary)
        case stream(Streaming)
    }

    /// The description registered for discovery; its `stream` metadata (go-micro's) follows ``kind``.
    public var endpoint: Endpoint
    /// How the endpoint exchanges messages.
    public var kind: EndpointKind
    /// The handler.
    public var body: Body
    /// The handler blocks its thread (synchronous I/O, a lock held long, heavy computation): it runs
    /// on Swift's global executor instead of the connection's event loop, so that the other calls
    /// and connections on that loop go on meanwhile. Handlers that only `await` leave it false.
    public var blocking: Bool

    /// Creates a handler of the given kind (a unary body may serve any kind: it then answers a stream's
    /// first message with one response).
    public init(endpoint: Endpoint, kind: EndpointKind, body: Body, blocking: Bool = false) {
        self.blocking = blocking
        var endpoint = endpoint
        endpoint.metadata["stream"] = kind.isStreaming ? "true" : "false"
        self.endpoint = endpoint
        self.kind = kind
        self.body = body
    }
}
