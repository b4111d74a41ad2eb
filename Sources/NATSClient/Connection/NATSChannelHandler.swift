import Foundation
import Logging
import NIOCore
import NIOSSL

/// The pipeline end of one server connection: parses what the server sends, runs the handshake
/// (`INFO` → optional TLS upgrade → `CONNECT` + `PING` → `PONG`), answers `PING`, and hands
/// messages and connection events to its ``NATSConnection``.
final class NATSChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingInfo
        case awaitingPong
        case established
        case failed
    }

    /// Slack above the server's `max_payload` accepted from it.
    static let payloadSlack = 64 * 1024

    /// The largest message accepted from a server announcing `maxPayload`: half as much again plus the
    /// slack, because the server's own JetStream answers carry a stored message of up to `max_payload`
    /// in base64 (4/3 of it) inside JSON.
    static func inboundLimit(maxPayload: Int) -> Int {
        let payload = max(maxPayload, 1024)
        return payload + payload / 2 + payloadSlack
    }

    private let connection: NATSConnection
    private let server: NATSServerAddress
    /// What the handshake found: the server's `INFO`, and whether the connection was upgraded to TLS.
    struct Handshake: Sendable {
        var info: NATSServerInfo
        var tls: Bool
    }

    private let handshake: EventLoopPromise<Handshake>
    private let logger: Logger
    private var parser: NATSProtocolParser
    private var phase = Phase.awaitingInfo
    private var info = NATSServerInfo()
    private var usesTLS = false
    private var timeout: Scheduled<Void>?
    private var lastError: (any Error)?
    /// Messages parsed in a row for one subscription, handed over together (one lock and wake-up per batch).
    private var batch: [NATSMessage] = []
    private var batchSID: UInt64 = 0
    private var batchWireBytes = 0

    init(connection: NATSConnection, server: NATSServerAddress, handshake: EventLoopPromise<Handshake>, logger: Logger) {
        self.connection = connection
        self.server = server
        self.handshake = handshake
        self.logger = logger
        self.parser = NATSProtocolParser(maxControlLineSize: connection.options.maxControlLineSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: TimeAmount(connection.options.connectTimeout)) {
            let (handler, context) = loopBound.value
            handler.failHandshake(NATSError(.timeout, "no answer from \(handler.server) within \(handler.connection.options.connectTimeout)"), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        handshake.fail(NATSError(.connectionClosed, "connection to \(server) closed during the handshake"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        switch phase {
        case .established:
            phase = .failed
            connection.connectionLost(context.channel, error: lastError)
        case .awaitingInfo, .awaitingPong:
            let error: NATSError
            switch lastError {
            case let natsError as NATSError: error = natsError
            case let other?: error = NATSError(.connectFailed, "\(server): \(other)")
            case nil: error = NATSError(.connectionClosed, "\(server) closed the connection during the handshake")
            }
            failHandshake(error, context: context)
        case .failed:
            break
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if lastError == nil { lastError = error }
        switch phase {
        case .awaitingInfo, .awaitingPong:
            failHandshake(NATSError(.connectFailed, "\(server): \(error)"), context: context)
        case .established, .failed:
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if phase == .established, context.channel.isWritable { connection.channelBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data))
        while phase != .failed {
            let operation: NATSProtocolParser.Operation?
            do {
                operation = try parser.next()
            } catch {
                deliverBatch()
                logger.error("NATS protocol violation from \(server): \(error.detail)")
                lastError = error
                if phase == .established { context.close(promise: nil) } else { failHandshake(error, context: context) }
                return
            }
            guard let operation else { break }
            if case .message(let sid, let message) = operation {
                guard phase == .established else { continue }
                if sid != batchSID, !batch.isEmpty { deliverBatch() }
                batchSID = sid
                batch.append(message)
                batchWireBytes += parser.lastMessageWireSize
            } else {
                // What came before a PONG (or anything else) is delivered before it is handled.
                deliverBatch()
                handle(operation, context: context)
            }
        }
        deliverBatch()
    }

    private func deliverBatch() {
        guard !batch.isEmpty else { return }
        connection.deliver(sid: batchSID, batch: batch, wireBytes: batchWireBytes)
        if batch.capacity > 4096 { batch = [] } else { batch.removeAll(keepingCapacity: true) }
        batchWireBytes = 0
    }

    private func handle(_ operation: NATSProtocolParser.Operation, context: ChannelHandlerContext) {
        switch operation {
        case .message:
            break
        case .ping:
            // Once established, frames may be written straight to the socket: the answer joins them, in order.
            if phase == .established, connection.sendPong(on: context.channel) { return }
            var pong = context.channel.allocator.buffer(capacity: 6)
            NATSFrameEncoder.writePong(into: &pong)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            if phase == .awaitingPong {
                phase = .established
                timeout?.cancel()
                handshake.succeed(Handshake(info: info, tls: usesTLS))
            } else if phase == .established {
                connection.receivedPong()
            }
        case .ok:
            break
        case .info(let newInfo):
            parser.maxPayloadSize = Self.inboundLimit(maxPayload: newInfo.maxPayload)
            if phase == .awaitingInfo {
                info = newInfo
                sendConnect(context: context)
            } else if phase == .established {
                connection.receivedInfo(newInfo)
            }
        case .error(let text):
            if phase == .established {
                connection.receivedServerError(text)
            } else {
                let lower = text.lowercased()
                let code: NATSError.Code = lower.contains("authorization violation") || lower.contains("authentication") ? .authorizationViolation : .serverError
                failHandshake(NATSError(code, text), context: context)
            }
        }
    }

    /// After `INFO`: upgrades to TLS when asked or required, then sends `CONNECT` and `PING`.
    private func sendConnect(context: ChannelHandlerContext) {
        let options = connection.options
        let wantsTLS = options.tls != nil || server.tls || info.tlsRequired
        usesTLS = wantsTLS
        if wantsTLS {
            do {
                let ssl = try NIOSSLClientHandler(context: try connection.sslContext(), serverHostname: options.tlsServerName ?? (server.hostIsIPAddress ? nil : server.host))
                try context.pipeline.syncOperations.addHandler(ssl, position: .first)
            } catch {
                failHandshake(NATSError(.connectFailed, "TLS setup for \(server): \(error)"), context: context)
                return
            }
        }
        let connect = NATSConnectPayload(
            verbose: false, pedantic: false, tls_required: wantsTLS, name: options.name,
            lang: "swift", version: NATSConnection.clientVersion, protocol: 1, headers: true, no_responders: true, echo: true,
            user: options.user ?? server.user, pass: options.password ?? server.password, auth_token: options.token ?? server.token)
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeStaticString("CONNECT ")
        do {
            try buffer.writeJSONEncodable(connect)
        } catch {
            failHandshake(NATSError(.connectFailed, "encoding CONNECT: \(error)"), context: context)
            return
        }
        buffer.writeStaticString("\r\n")
        NATSFrameEncoder.writePing(into: &buffer)
        phase = .awaitingPong
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func failHandshake(_ error: NATSError, context: ChannelHandlerContext) {
        guard phase == .awaitingInfo || phase == .awaitingPong else { return }
        phase = .failed
        timeout?.cancel()
        handshake.fail(error)
        context.close(promise: nil)
    }
}
