import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// The baseline: a plain SwiftNIO HTTP/1.1 server doing the same work as the framework's handler
/// (aggregate the body, decode JSON with Foundation, encode the reply, answer with keep-alive),
/// with nothing of the framework in between.
final class RawNIOServer: Sendable {
    enum Work: Sendable {
        /// `{"name"}` → `{"message":"Hello NAME"}` (mucp's Greeter.Hello).
        case hello
        /// go-micro's broker envelope `{"Header":{...},"Body":"<base64>"}` → 200, empty body.
        case brokerEnvelope
    }

    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) { self.channel = channel }

    /// Binds 127.0.0.1 on any free port, on the same event loop group the framework's server uses.
    static func start(work: Work, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> RawNIOServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try sync.addHandler(RawHandler(work: work))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawNIOServer(channel: channel)
    }

    func shutdown() async {
        try? await channel.close()
    }
}

struct HelloRequest: Codable, Sendable { var name: String }
struct HelloReply: Codable, Sendable { var message: String }

/// go-micro's broker message on the wire, decoded by hand for the baseline.
struct RawEnvelope: Decodable {
    var Header: [String: String]
    var Body: String
}

final class RawHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let work: RawNIOServer.Work
    private let decoder = JSONDecoder()
    private let encoder = JSONEncoder()
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(work: RawNIOServer.Work) { self.work = work }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            respond(head, context: context)
        }
    }

    private func respond(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let body = self.body ?? ByteBuffer()
        self.body = nil
        var headers = HTTPHeaders()
        var status = HTTPResponseStatus.ok
        var out = ByteBuffer()
        switch work {
        case .hello:
            do {
                let request = try decoder.decode(HelloRequest.self, from: body)
                out = try context.channel.allocator.buffer(bytes: encoder.encode(HelloReply(message: "Hello \(request.name)")))
                headers.add(name: "Content-Type", value: "application/json")
                if let id = head.headers.first(name: "Micro-Id") { headers.add(name: "Micro-Id", value: id) }
            } catch {
                status = .badRequest
            }
        case .brokerEnvelope:
            do {
                let envelope = try decoder.decode(RawEnvelope.self, from: body)
                guard let payload = Data(base64Encoded: envelope.Body), envelope.Header["Micro-Topic"] != nil else {
                    throw CancellationError()
                }
                _ = payload
            } catch {
                status = .badRequest
            }
        }
        let keepAlive = head.isKeepAlive
        headers.add(name: "Content-Length", value: String(out.readableBytes))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if out.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(out))), promise: nil) }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
    }
}
