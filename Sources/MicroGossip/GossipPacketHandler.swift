import NIOCore

/// Hands each UDP packet to the node.
final class GossipPacketHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let onPacket: GossipTransport.PacketHandler

    init(onPacket: @escaping GossipTransport.PacketHandler) { self.onPacket = onPacket }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        onPacket(bytes, envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like: UDP carries on.
    }
}
