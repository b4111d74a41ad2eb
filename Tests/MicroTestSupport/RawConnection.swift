import Foundation
import MicroAddress
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Collects everything a raw connection receives, and whether it closed.
public final class ByteCollector: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    public struct State: Sendable { public var bytes: [UInt8] = []; public var closed = false; public var error: String? }
    public let state = NIOLockedValueBox(State())

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        state.withLockedValue { $0.bytes += bytes }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closed = true }
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.withLockedValue { $0.error = "\(error)" }
        context.close(promise: nil)
    }
}

/// A TCP connection that sends whatever bytes a test wants and records what comes back.
public final class RawConnection: Sendable {
    public let channel: any Channel
    private let collector: ByteCollector

    private init(channel: any Channel, collector: ByteCollector) {
        self.channel = channel
        self.collector = collector
    }

    public static func connect(_ address: String) async throws -> RawConnection {
        let target = try HostPort(parsing: address)
        let collector = ByteCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: target.host, port: target.port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    public func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    public var received: [UInt8] { collector.state.withLockedValue { $0.bytes } }
    public var text: String { String(decoding: received, as: UTF8.self) }
    public var isClosed: Bool { collector.state.withLockedValue { $0.closed } }

    /// Waits until the peer closed the connection.
    public func waitClosed(within timeout: Duration = .seconds(2)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isClosed { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return isClosed
    }

    /// Waits until one whole HTTP response (Content-Length or chunked) arrived; nil on timeout.
    public func response(within timeout: Duration = .seconds(2)) async -> RawResponse? {
        var result: RawResponse?
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let r = RawResponse.parse(received) { result = r; break }
            if isClosed { return RawResponse.parse(received) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return result
    }

    public func close() { channel.close(promise: nil) }
}

/// One parsed HTTP response.
public struct RawResponse: Sendable {
    public var status: Int
    public var headers: [String: String]  // lowercased names
    public var body: [UInt8]
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Parses one complete response from the front of `bytes`, nil while incomplete.
    public static func parse(_ bytes: [UInt8]) -> RawResponse? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = Array(bytes[(headEnd + 4)...])
        if let length = headers["content-length"].flatMap(Int.init) {
            guard rest.count >= length else { return nil }
            return RawResponse(status: status, headers: headers, body: Array(rest[..<length]))
        }
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            guard let body = dechunk(rest) else { return nil }
            return RawResponse(status: status, headers: headers, body: body)
        }
        return RawResponse(status: status, headers: headers, body: rest)
    }

    /// Every complete response at the front of `bytes`, in order (bodies framed by Content-Length).
    public static func parseAll(_ bytes: [UInt8]) -> [RawResponse] {
        var out: [RawResponse] = []
        var rest = bytes
        while let headEnd = find([13, 10, 13, 10], in: rest, from: 0), let r = parse(rest) {
            out.append(r)
            guard let length = r.headers["content-length"].flatMap(Int.init) else { break }
            rest = Array(rest[(headEnd + 4 + length)...])
        }
        return out
    }

    /// The payload of a complete chunked body, nil while incomplete.
    public static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { return nil }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            i = lineEnd + 2
            if size == 0 { return out }
            guard bytes.count >= i + size + 2 else { return nil }
            out += bytes[i..<(i + size)]
            i += size + 2
        }
    }

    public static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        for i in start...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if Array(bytes[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
