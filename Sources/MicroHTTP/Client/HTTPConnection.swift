import MicroCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One client connection: HTTP/1.1, one request at a time.
/// Safety: the pool hands a connection to one caller at a time, so the iterator has one reader.
final class HTTPConnection: @unchecked Sendable {
    typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    let address: String
    let host: String
    private let asyncChannel: Channel
    private var iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    var channel: any NIOCore.Channel { asyncChannel.channel }
    /// How many requests this connection served (0: fresh).
    var uses = 0
    /// False for an HTTP/2 stream, which serves one exchange and closes.
    let reusable: Bool

    init(address: String, host: String, channel: Channel, reusable: Bool = true) {
        self.address = address
        self.host = host
        self.reusable = reusable
        self.asyncChannel = channel
        self.iterator = channel.inbound.makeAsyncIterator()
    }

    static func connect(to address: String, timeout: Duration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPConnection {
        let (host, port) = try HostPort.parse(address)
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try Channel(wrappingChannelSynchronously: channel,
                                           configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16)))
                    }
                }
            return HTTPConnection(address: address, host: host, channel: channel)
        } catch {
            throw TransportError(.connectFailed, address: address, detail: "\(error)")
        }
    }

    var isActive: Bool { asyncChannel.channel.isActive }

    func close() {
        asyncChannel.outbound.finish()
        asyncChannel.channel.close(promise: nil)
    }

    deinit {
        asyncChannel.outbound.finish()
        asyncChannel.channel.close(promise: nil)
    }

    func write(_ parts: [HTTPClientRequestPart]) async throws {
        try await asyncChannel.outbound.write(contentsOf: parts)
    }

    func write(_ part: HTTPClientRequestPart) async throws {
        try await asyncChannel.outbound.write(part)
    }

    func next() async throws -> HTTPClientResponsePart? {
        try await iterator.next()
    }

    /// Closes the connection at `deadline` unless the returned handle is cancelled first.
    func closeAt(_ deadline: NIODeadline?) -> Scheduled<Void>? {
        guard let deadline else { return nil }
        let channel = asyncChannel.channel
        return channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
    }
}
