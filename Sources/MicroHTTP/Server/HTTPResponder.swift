import MicroCore
import NIOCore
import NIOHTTP1

/// A whole HTTP response.
struct HTTPFullResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// How a streaming request travels (see ``HTTPResponder/streamPlan(for:)``).
struct StreamPlan: Sendable {
    enum Framing: Sendable {
        /// The project's frames inside one chunked body each way (HTTP/2, and HTTP/1.1 chunked requests).
        case frames
        /// go-micro's form: the connection is taken over and each message is a whole HTTP/1.1 message
        /// (``MucpStreamWire``).
        case messages
        /// A go-micro message that ends a stream (`Micro-Error`) which is not being served (any
        /// more): go-micro's server drops it, unanswered.
        case strayEnd
    }
    var framing: Framing
    /// When the caller stops waiting: the handler is cancelled and the stream ends with a 408.
    var deadline: NIODeadline?
}

/// The protocol an ``HTTPServer`` serves (mucp RPC, the HTTP broker): answers whole requests, and
/// streams for requests it marks as streaming.
protocol HTTPResponder: Sendable {
    /// How the request streams; nil for a request whose body is one message.
    func streamPlan(for head: HTTPRequestHead) -> StreamPlan?
    /// Answers a whole request; `peerIdentity` is the connection's verified client certificate's identity.
    func respond(_ head: HTTPRequestHead, body: ByteBuffer, peerIdentity: String?) async -> HTTPFullResponse
    /// Serves a streaming request; returns the error to end the stream with, if any.
    func respondStreaming(_ head: HTTPRequestHead, peerIdentity: String?, inbound: MessageReader, outbound: MessageWriter) async -> MicroError?
    /// The answer to a request refused before it was read (too large), in the protocol's form.
    func refusal(_ error: MicroError, for head: HTTPRequestHead) -> HTTPFullResponse
}
