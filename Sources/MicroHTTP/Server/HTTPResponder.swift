import MicroCore
import NIOCore
import NIOHTTP1

/// A whole HTTP response.
struct HTTPFullResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// The protocol an ``HTTPServer`` serves (mucp RPC, the HTTP broker): answers whole requests, and
/// streams for requests it marks as streaming.
protocol HTTPResponder: Sendable {
    /// True when the request's body is a stream of frames rather than one message.
    func isStreaming(_ head: HTTPRequestHead) -> Bool
    /// Answers a whole request.
    func respond(_ head: HTTPRequestHead, body: ByteBuffer) async -> HTTPFullResponse
    /// Serves a streaming request; returns the error to end the stream with, if any.
    func respondStreaming(_ head: HTTPRequestHead, inbound: MessageReader, outbound: MessageWriter) async -> MicroError?
}
