import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOPosix

/// A hand-driven HTTP/2 connection for bad-input tests: frames are written byte by byte (so they
/// can be wrong on purpose) and what the server answers is parsed back (HPACK via NIOHPACK).
final class RawHTTP2: Sendable {
    struct Frame: Sendable {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    static let data: UInt8 = 0, headers: UInt8 = 1, rstStream: UInt8 = 3, settings: UInt8 = 4, goaway: UInt8 = 7, windowUpdate: UInt8 = 8
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: the window each new stream starts with.
    static let initialWindowSize: UInt16 = 4
    static let endStream: UInt8 = 1, endHeaders: UInt8 = 4, ack: UInt8 = 1

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state = NIOLockedValueBox<(bytes: [UInt8], closed: Bool)>(([], false))
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLockedValue { $0.bytes += buffer.readableBytesView }
        }
        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.closed = true }
            context.fireChannelInactive()
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    let channel: any Channel
    let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects and, unless told otherwise, sends the client preface and a SETTINGS frame with `settings`.
    static func connect(port: Int, preface: Bool = true, settings initial: [(UInt16, UInt32)] = []) async throws -> RawHTTP2 {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let raw = RawHTTP2(channel: channel, collector: collector)
        if preface {
            let payload = initial.flatMap { id, value in
                [UInt8(id >> 8), UInt8(id & 0xff), UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
            }
            try await raw.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(settings, 0, 0, payload))
            // Acknowledge the server's settings, so its limits are in force.
            if await raw.wait(until: { r in r.frames.contains { $0.type == settings && $0.flags & ack == 0 } }) {
                try await raw.send(frame(settings, ack, 0, []))
            }
        }
        return raw
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func close() { channel.close(promise: nil) }

    var isClosed: Bool { collector.state.withLockedValue { $0.closed } }

    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// A WINDOW_UPDATE frame granting `increment` more bytes on `stream` (0: the connection).
    static func windowUpdateFrame(_ stream: UInt32, _ increment: UInt32) -> [UInt8] {
        frame(windowUpdate, 0, stream, [UInt8(increment >> 24 & 0x7f), UInt8(increment >> 16 & 0xff), UInt8(increment >> 8 & 0xff), UInt8(increment & 0xff)])
    }

    /// A header block of literal fields (no indexing, no Huffman).
    static func headerBlock(_ headers: [(String, String)]) -> [UInt8] {
        func string(_ s: String) -> [UInt8] {
            let bytes = Array(s.utf8)
            precondition(bytes.count < 127)
            return [UInt8(bytes.count)] + bytes
        }
        return headers.flatMap { [0x00] + string($0.0) + string($0.1) }
    }

    /// The request headers of a gRPC call to `path`.
    static func grpcHeaders(_ path: String, contentType: String = "application/grpc", extra: [(String, String)] = []) -> [UInt8] {
        headerBlock([(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "test"),
                     ("content-type", contentType), ("te", "trailers")] + extra)
    }

    /// One gRPC length-prefixed message.
    static func message(_ body: [UInt8], compressed: Bool = false) -> [UInt8] {
        let n = body.count
        return [compressed ? 1 : 0, UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
    }

    /// The frames received so far.
    var frames: [Frame] {
        let bytes = collector.state.withLockedValue { $0.bytes }
        var frames: [Frame] = []
        var i = 0
        while i + 9 <= bytes.count {
            let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + n <= bytes.count else { break }
            let stream = UInt32(bytes[i + 5] & 0x7f) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])
            frames.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream, payload: Array(bytes[(i + 9)..<(i + 9 + n)])))
            i += 9 + n
        }
        return frames
    }

    /// Every header block the server sent, decoded in order, with its stream.
    func headerBlocks() throws -> [(stream: UInt32, headers: HPACKHeaders)] {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var out: [(UInt32, HPACKHeaders)] = []
        for f in frames where f.type == Self.headers {
            var payload = f.payload[...]
            if f.flags & 0x8 != 0, let pad = payload.first { payload = payload.dropFirst().dropLast(Int(pad)) }
            if f.flags & 0x20 != 0 { payload = payload.dropFirst(5) }
            var buffer = ByteBuffer(bytes: payload)
            out.append((f.stream, try decoder.decodeHeaders(from: &buffer)))
        }
        return out
    }

    /// The trailers' `grpc-status` (or `:status` of an HTTP-level refusal) the server sent on `stream`.
    func status(of stream: UInt32) throws -> String? {
        for (s, h) in try headerBlocks().reversed() where s == stream {
            if let status = h.first(name: "grpc-status") { return status }
            if let http = h.first(name: ":status"), http != "200" { return "http \(http)" }
        }
        return nil
    }

    /// Waits up to `timeout` for `condition` on this connection.
    func wait(_ timeout: Duration = .seconds(3), until condition: (RawHTTP2) throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try condition(self)
    }
}
