import MicroAddress
import MicroCore
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// One HTTP/2 connection to an address (h2c with prior knowledge, or h2 over TLS); every call opens a
/// stream on it, and each stream is exchanged exactly like an HTTP/1.1 request.
final class HTTP2Connection: Sendable {
    let address: String
    let host: String
    private let channel: any Channel
    private let streams: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>

    private init(address: String, host: String, channel: any Channel, streams: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>) {
        self.address = address
        self.host = host
        self.channel = channel
        self.streams = streams
    }

    static func connect(to address: String, timeout: Duration, security: HTTPTransportSecurity? = nil,
                        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTP2Connection {
        let target = try HostPort.transportAddress(address)
        let (host, port) = (target.host, target.port)
        do {
            let (channel, streams) = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls = security?.client { try tls(channel, host, true) }
                        // The server never opens streams towards a client: refuse any it tries.
                        let streams = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                            stream.close()
                        }
                        return (channel, streams)
                    }
                }
            return HTTP2Connection(address: address, host: host, channel: channel, streams: streams)
        } catch {
            throw TransportError(.connectFailed, address: address, detail: "\(error)")
        }
    }

    var isActive: Bool { channel.isActive }

    /// A new stream, wrapped as a one-exchange connection.
    func openExchange() async throws -> HTTPConnection {
        let (address, host) = (self.address, self.host)
        do {
            return try await streams.openStream { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                    return try HTTPConnection.wrap(stream, address: address, host: host, reusable: false)
                }
            }
        } catch {
            throw TransportError(.connectionClosed, address: address, detail: "cannot open an HTTP/2 stream: \(error)")
        }
    }

    func close() { channel.close(promise: nil) }
}
