import NIOCore
import NIOHTTP1

/// One whole response to a unary exchange, and whether its connection may serve another.
struct HTTPReply: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
    var keepAlive: Bool
}
