import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The sockets of one gossip node: a UDP socket for packets and a TCP listener for streams, on the
/// same port, plus outbound TCP exchanges (push-pull, reliable user messages).
final class GossipTransport: Sendable {
    /// Called with each UDP packet and its sender.
    typealias PacketHandler = @Sendable ([UInt8], SocketAddress) -> Void
    /// Called with each complete inbound stream message; returns the reply to write, if any.
    typealias StreamHandler = @Sendable (GossipMessage, SocketAddress?) -> [UInt8]?

    let group: any EventLoopGroup
    private let udp: any Channel
    private let tcp: any Channel
    private let limits: GossipWire.Limits
    private let tcpTimeout: TimeAmount
    /// The bound port (UDP and TCP).
    let port: Int

    private init(group: any EventLoopGroup, udp: any Channel, tcp: any Channel, port: Int, limits: GossipWire.Limits, tcpTimeout: TimeAmount) {
        self.group = group
        self.udp = udp
        self.tcp = tcp
        self.port = port
        self.limits = limits
        self.tcpTimeout = tcpTimeout
    }

    /// Binds TCP then UDP on `host:port` (port 0: one free for both).
    static func bind(host: String, port: Int, limits: GossipWire.Limits, tcpTimeout: TimeAmount,
                     onPacket: @escaping PacketHandler, onStream: @escaping StreamHandler) async throws -> GossipTransport {
        let group = MultiThreadedEventLoopGroup.singleton
        var lastError: (any Error)?
        for _ in 0..<(port == 0 ? 20 : 1) {
            let tcp: any Channel
            do {
                tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                GossipStreamHandler(mode: .server(onStream), limits: limits, timeout: tcpTimeout))
                        }
                    }
                    .bind(host: host, port: port).get()
            } catch {
                throw GossipError(.bindFailed, "tcp \(host):\(port): \(error)")
            }
            let bound = tcp.localAddress?.port ?? port
            do {
                let udp = try await DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: limits.maxPacket))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(GossipPacketHandler(onPacket: onPacket))
                        }
                    }
                    .bind(host: host, port: bound).get()
                return GossipTransport(group: group, udp: udp, tcp: tcp, port: bound, limits: limits, tcpTimeout: tcpTimeout)
            } catch {
                lastError = error
                try? await tcp.close()
            }
        }
        throw GossipError(.bindFailed, "udp \(host):\(port): \(String(describing: lastError))")
    }

    /// Drops outgoing UDP packets to addresses it returns true for (tests: a network that loses UDP).
    let udpFilter = NIOLockedValueBox<(@Sendable (SocketAddress) -> Bool)?>(nil)

    /// Sends one UDP packet (fire and forget, as UDP is).
    func send(_ bytes: [UInt8], to address: SocketAddress) {
        if let drop = udpFilter.withLockedValue({ $0 }), drop(address) { return }
        let envelope = AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes))
        udp.writeAndFlush(envelope, promise: nil)
    }

    /// Opens a TCP stream to `address`, writes `bytes`, and (when `expectReply`) reads one message back.
    func exchange(_ bytes: [UInt8], to address: SocketAddress, expectReply: Bool, timeout: TimeAmount? = nil) async throws -> GossipMessage? {
        let promise = group.next().makePromise(of: GossipMessage?.self)
        let limits = self.limits
        let timeout = timeout ?? tcpTimeout
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: promise.futureResult.eventLoop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            GossipStreamHandler(mode: .client(request: bytes, expectReply: expectReply, promise: promise), limits: limits, timeout: timeout))
                    }
                }
                .connect(to: address).get()
        } catch {
            promise.fail(GossipError(.timeout, "connect \(address): \(error)"))
            _ = try? await promise.futureResult.get()
            throw GossipError(.timeout, "connect \(address): \(error)")
        }
        do {
            let reply = try await promise.futureResult.get()
            try? await channel.close()
            return reply
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Closes both sockets.
    func close() async {
        try? await udp.close()
        try? await tcp.close()
    }
}
