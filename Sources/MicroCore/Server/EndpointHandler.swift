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

    /// The description registered for discovery.
    public var endpoint: Endpoint
    /// The handler.
    public var body: Body

    /// Creates a handler.
    public init(endpoint: Endpoint, body: Body) {
        self.endpoint = endpoint
        self.body = body
    }
}
