#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix

/// The registry's sockets as NIO channels, per interface: the 5353 socket in the group and the
/// ephemeral query socket. Every datagram received on either is handed to one callback.
final class MDNSTransport: Sendable {
    /// A datagram received.
    struct Packet: Sendable {
        var bytes: [UInt8]
        var source: SocketAddress
        /// The index of the link it came in on.
        var link: Int
        /// Whether it came to the query socket (a unicast answer) rather than the 5353 socket.
        var toQuerySocket: Bool
    }

    /// One interface's channels.
    struct Link: Sendable {
        var interface: MDNSSockets.Interface
        var multicast: any Channel
        var query: any Channel
    }

    let links: [Link]
    let group: SocketAddress
    private let logger: Logger

    private init(links: [Link], group: SocketAddress, logger: Logger) {
        self.links = links
        self.group = group
        self.logger = logger
    }

    /// Opens the sockets of `configuration` and starts reading.
    static func open(configuration: MDNSRegistryConfiguration, logger: Logger,
                     onPacket: @escaping @Sendable (Packet) -> Void) async throws -> MDNSTransport {
        let pairs = try await MDNSSockets.open(interfaces: configuration.interfaces, port: configuration.port,
                                               namespace: configuration.networkNamespace)
        let eventLoops = configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        var links: [Link] = []
        var pending = pairs.flatMap { [$0.multicast, $0.query] }
        do {
            for (index, pair) in pairs.enumerated() {
                let multicast = try await channel(pair.multicast, eventLoops, Handler(link: index, toQuerySocket: false, onPacket: onPacket))
                pending.removeAll { $0 == pair.multicast }
                let query: any Channel
                do {
                    query = try await channel(pair.query, eventLoops, Handler(link: index, toQuerySocket: true, onPacket: onPacket))
                    pending.removeAll { $0 == pair.query }
                } catch {
                    try? await multicast.close()
                    throw error
                }
                links.append(Link(interface: pair.interface, multicast: multicast, query: query))
            }
        } catch {
            for fd in pending { _ = Glibc.close(fd) }
            for link in links {
                try? await link.multicast.close()
                try? await link.query.close()
            }
            throw MDNSError(.socket, "cannot register the sockets with NIO: \(error)")
        }
        let group = try SocketAddress(ipAddress: MDNSSockets.group, port: configuration.port)
        logger.debug("mdns sockets open", metadata: [
            "interfaces": "\(links.map(\.interface.name))", "namespace": "\(configuration.networkNamespace ?? "-")",
        ])
        return MDNSTransport(links: links, group: group, logger: logger)
    }

    private static func channel(_ fd: CInt, _ group: any EventLoopGroup, _ handler: Handler) async throws -> any Channel {
        try await DatagramBootstrap(group: group)
            .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .withBoundSocket(fd)
            .get()
    }

    /// Sends `bytes` to the group on every interface (from port 5353, as responses must be), or on one link.
    func multicast(_ bytes: [UInt8], link: Int? = nil) async {
        for (i, l) in links.enumerated() where link == nil || link == i {
            await write(bytes, to: group, on: l.multicast)
        }
    }

    /// Sends a query to the group from every interface's query socket.
    func query(_ bytes: [UInt8]) async {
        for l in links { await write(bytes, to: group, on: l.query) }
    }

    /// Sends `bytes` to `address` from link `link`'s 5353 socket.
    func unicast(_ bytes: [UInt8], to address: SocketAddress, link: Int) async {
        guard links.indices.contains(link) else { return }
        await write(bytes, to: address, on: links[link].multicast)
    }

    private func write(_ bytes: [UInt8], to address: SocketAddress, on channel: any Channel) async {
        let envelope = AddressedEnvelope(remoteAddress: address, data: channel.allocator.buffer(bytes: bytes))
        do { try await channel.writeAndFlush(envelope) } catch {
            logger.debug("mdns send failed", metadata: ["to": "\(address)", "error": "\(error)"])
        }
    }

    /// Sends `bytes` to the group (on one link or all) without waiting; a failure is only logged.
    func multicastNow(_ bytes: [UInt8], link: Int? = nil) {
        for (i, l) in links.enumerated() where link == nil || link == i { writeNow(bytes, to: group, on: l.multicast) }
    }

    /// Sends a query to the group from every query socket without waiting.
    func queryNow(_ bytes: [UInt8]) {
        for l in links { writeNow(bytes, to: group, on: l.query) }
    }

    /// Sends `bytes` to `address` from link `link`'s 5353 socket without waiting.
    func unicastNow(_ bytes: [UInt8], to address: SocketAddress, link: Int) {
        guard links.indices.contains(link) else { return }
        writeNow(bytes, to: address, on: links[link].multicast)
    }

    private func writeNow(_ bytes: [UInt8], to address: SocketAddress, on channel: any Channel) {
        let envelope = AddressedEnvelope(remoteAddress: address, data: channel.allocator.buffer(bytes: bytes))
        let logger = logger
        channel.writeAndFlush(envelope).whenFailure { error in
            logger.debug("mdns send failed", metadata: ["to": "\(address)", "error": "\(error)"])
        }
    }

    /// Closes every socket.
    func close() async {
        for l in links {
            try? await l.multicast.close()
            try? await l.query.close()
        }
    }

    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let link: Int
        let toQuerySocket: Bool
        let onPacket: @Sendable (Packet) -> Void

        init(link: Int, toQuerySocket: Bool, onPacket: @escaping @Sendable (Packet) -> Void) {
            self.link = link
            self.toQuerySocket = toQuerySocket
            self.onPacket = onPacket
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes) ?? []
            onPacket(Packet(bytes: bytes, source: envelope.remoteAddress, link: link, toQuerySocket: toQuerySocket))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A failed send or an ICMP error on a datagram socket: the socket stays usable.
        }
    }
}
