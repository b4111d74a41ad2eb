import NIOCore
import NIOPosix

/// A closed-loop HTTP/1.1 load generator written directly on SwiftNIO: `connections` keep-alive
/// connections, each sending one pre-encoded request, waiting for the whole response and sending
/// again at once. Requests sent inside the measurement window and answered before its end are
/// counted, with their latencies. All connections share the generator's own event loop(s), so the
/// generator does no allocation or task hopping per request beyond reading the socket.
struct LoadGenerator: Sendable {
    let host: String
    let port: Int
    /// The raw request bytes (request line, headers, body).
    let request: ByteBuffer
    let connections: Int
    let group: any EventLoopGroup

    /// A request of the given method, path, headers and body, encoded as HTTP/1.1.
    static func encode(method: String = "POST", path: String = "/", host: String, headers: [(String, String)], body: [UInt8]) -> ByteBuffer {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        text += "Content-Length: \(body.count)\r\n\r\n"
        var buffer = ByteBuffer(string: text)
        buffer.writeBytes(body)
        return buffer
    }

    /// Runs `warmup` unmeasured seconds then `seconds` measured ones; returns what the window saw, with
    /// the CPU time `cpu` counts over the window when given.
    func run(label: String, warmup: Double, seconds: Double, cpu: ThreadCPU? = nil) async throws -> RunResult {
        let start = nowNanos()
        let recordFrom = start + UInt64(warmup * 1e9)
        let recordUntil = recordFrom + UInt64(seconds * 1e9)
        let request = self.request
        var channels: [any Channel] = []
        defer { for c in channels { c.close(promise: nil) } }
        for i in 0..<connections {
            let bootstrap = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            LoadConnection(request: request, recordFrom: recordFrom, recordUntil: recordUntil, captureBody: i == 0))
                    }
                }
            channels.append(try await bootstrap.connect(host: host, port: port).get())
        }
        func sleep(until deadline: UInt64) async throws {
            let wait = Int64(deadline) - Int64(nowNanos())
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
        }
        var cpuSeconds: Double?
        if let cpu {
            try await sleep(until: recordFrom)
            let before = cpu.seconds()
            try await sleep(until: recordUntil)
            cpuSeconds = cpu.seconds() - before
        }
        // Each connection stops sending once the window has ended; wait for that plus a little slack.
        try await sleep(until: recordUntil + 200_000_000)
        var result = RunResult(label: label, seconds: seconds, completed: 0, errors: 0, latencies: [])
        result.cpuSeconds = cpuSeconds
        var sample: String?
        for channel in channels {
            let snap = try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.handler(type: LoadConnection.self).snapshot()
            }.get()
            result.completed += snap.latencies.count
            result.errors += snap.errors
            result.latencies += snap.latencies
            if sample == nil { sample = snap.firstBody }
        }
        result.sample = sample
        return result
    }
}

/// What one connection saw.
struct ConnectionSnapshot: Sendable {
    var latencies: [UInt64]
    var errors: Int
    var firstBody: String?
}

/// One generator connection: send, wait for the whole response (Content-Length framed), record, send again.
final class LoadConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let recordFrom: UInt64
    private let recordUntil: UInt64
    private var captureBody: Bool
    private var sentAt: UInt64 = 0
    private var pending: ByteBuffer?
    private var latencies: [UInt64] = []
    private var errors = 0
    private var firstBody: String?
    private var stopped = false

    init(request: ByteBuffer, recordFrom: UInt64, recordUntil: UInt64, captureBody: Bool) {
        self.request = request
        self.recordFrom = recordFrom
        self.recordUntil = recordUntil
        self.captureBody = captureBody
        latencies.reserveCapacity(1 << 16)
    }

    func snapshot() -> ConnectionSnapshot {
        ConnectionSnapshot(latencies: latencies, errors: errors, firstBody: firstBody)
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopped = true
        context.fireChannelInactive()
    }

    private func send(_ context: ChannelHandlerContext) {
        sentAt = nowNanos()
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if var p = pending {
            pending = nil
            p.writeBuffer(&chunk)
            pending = p
        } else {
            pending = chunk
        }
        while var pending, let (status, length, bodyStart) = Self.parseHead(pending) {
            guard pending.readableBytes >= length else { break }
            if captureBody {
                captureBody = false
                let body = pending.getString(at: pending.readerIndex + bodyStart, length: length - bodyStart) ?? ""
                firstBody = "HTTP \(status) \(body)"
            }
            pending.moveReaderIndex(forwardBy: length)
            self.pending = pending.readableBytes == 0 ? nil : pending
            completed(status: status, context: context)
        }
    }

    private func completed(status: Int, context: ChannelHandlerContext) {
        let now = nowNanos()
        if status == 200 {
            if sentAt >= recordFrom && now <= recordUntil { latencies.append(now - sentAt) }
        } else if now <= recordUntil {
            errors += 1
        }
        if now < recordUntil && !stopped { send(context) } else { stopped = true }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !stopped { errors += 1 }
        stopped = true
        context.close(promise: nil)
    }

    /// Parses a response head at the start of `buffer`: (status, total length with body, offset of the body).
    /// Nil until the head is complete. Only Content-Length framing is supported (both servers use it).
    static func parseHead(_ buffer: ByteBuffer) -> (Int, Int, Int)? {
        buffer.withUnsafeReadableBytes { raw -> (Int, Int, Int)? in
            let n = raw.count
            guard n >= 16 else { return nil }
            // Find the blank line.
            var end = -1
            var i = 12
            while i + 3 < n {
                if raw[i] == 13 && raw[i + 1] == 10 && raw[i + 2] == 13 && raw[i + 3] == 10 { end = i; break }
                i += 1
            }
            guard end >= 0 else { return nil }
            // "HTTP/1.1 200 ..."
            let status = Int(raw[9] &- 48) * 100 + Int(raw[10] &- 48) * 10 + Int(raw[11] &- 48)
            var contentLength = 0
            var line = 0
            while line < end {
                // Advance to the next line start.
                while line < end && raw[line] != 10 { line += 1 }
                line += 1
                guard line < end else { break }
                // "content-length:" case-insensitively (15 bytes).
                if end - line >= 15, raw[line] | 0x20 == UInt8(ascii: "c"), raw[line + 7] == UInt8(ascii: "-"),
                   raw[line + 8] | 0x20 == UInt8(ascii: "l"), raw[line + 14] == UInt8(ascii: ":") {
                    var j = line + 15
                    while j < end && raw[j] == 32 { j += 1 }
                    var v = 0
                    while j < end && raw[j] >= 48 && raw[j] <= 57 { v = v * 10 + Int(raw[j] - 48); j += 1 }
                    contentLength = v
                }
            }
            let bodyStart = end + 4
            return (status, bodyStart + contentLength, bodyStart)
        }
    }
}
