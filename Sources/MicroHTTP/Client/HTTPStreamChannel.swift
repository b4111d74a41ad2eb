import MicroCore
import NIOCore
import NIOHTTP1

/// The caller's side of a stream over HTTP/1.1: request frames in a chunked body, response frames in
/// the chunked answer. The connection is the stream's alone and closes with it.
/// Safety: `send`/`finishSending` come from one task and `receive` from one task; the decoder state is
/// touched only by `receive`.
final class HTTPStreamChannel: ClientStreamChannel, @unchecked Sendable {
    private let connection: HTTPConnection
    private let maxMessageSize: Int
    private var decoder: StreamFrameDecoder
    private var sawHead = false
    private var finished = false
    private let timer: Scheduled<Void>?
    private let deadline: NIODeadline?

    init(connection: HTTPConnection, maxMessageSize: Int, deadline: NIODeadline?) {
        self.connection = connection
        self.maxMessageSize = maxMessageSize
        self.decoder = StreamFrameDecoder(maxMessageSize: maxMessageSize)
        self.deadline = deadline
        self.timer = connection.closeAt(deadline)
    }

    /// The error for a stream that broke: a timeout once the deadline passed, else a closed connection.
    private func broken(_ error: any Error) -> TransportError {
        if let deadline, deadline <= .now() {
            return TransportError(.timeout, address: connection.address, detail: "stream deadline exceeded")
        }
        return TransportError(.connectionClosed, address: connection.address, detail: "stream closed: \(error)")
    }

    func send(_ message: ByteBuffer) async throws {
        guard message.readableBytes <= maxMessageSize else {
            throw MicroError.tooLarge("go.micro.client", "stream message of \(message.readableBytes) bytes exceeds the limit of \(maxMessageSize) bytes")
        }
        do { try await connection.write(.body(.byteBuffer(StreamFrame.encode(.message, message)))) } catch {
            throw broken(error)
        }
        bytesSinceYield += message.readableBytes + 5
        if bytesSinceYield >= Self.ioYieldBytes {
            // While the socket takes every write at once, a sender that never waits keeps the event loop
            // busy with its write tasks alone (NIO runs tasks until none are left), starving every other
            // connection on that loop. Every so often, wait for a timer on the loop: its task queue
            // empties and it serves I/O before this stream writes more.
            bytesSinceYield = 0
            try? await connection.channel.eventLoop.scheduleTask(in: .microseconds(50)) {}.futureResult.get()
        }
    }

    /// Stream bytes sent between two pauses that let the event loop serve its other connections.
    static let ioYieldBytes = 256 * 1024
    private var bytesSinceYield = 0

    func finishSending() async throws {
        do { try await connection.write(.end(nil)) } catch {
            // The handler already answered and closed: what it said is read by `receive`.
            if !connection.isActive && !finished { return }
            throw broken(error)
        }
    }

    func receive() async throws -> ByteBuffer? {
        if finished { return nil }
        while true {
            let next: StreamFrame?
            do { next = try decoder.next() } catch {
                finish()   // a peer that breaks the framing gets its connection closed
                throw error
            }
            if let frame = next {
                switch frame.kind {
                case .message: return frame.payload
                case .end: finish(); return nil
                case .error: finish(); throw MicroError.parse(String(buffer: frame.payload))
                }
            }
            let part: HTTPClientResponsePart?
            do {
                part = try await withTaskCancellationHandler { try await connection.next() } onCancel: { [connection] in connection.close() }
            } catch {
                finish()
                throw broken(error)
            }
            switch part {
            case .head(let head):
                sawHead = true
                if let e = head.headers.first(name: "Micro-Error"), !e.isEmpty { finish(); throw MicroError.parse(e) }
                if head.status != .ok { finish(); throw MicroError(id: "go.micro.client", code: Int32(head.status.code), detail: head.status.reasonPhrase) }
            case .body(let chunk):
                decoder.append(chunk)
            case .end, nil:
                finish()
                throw broken(TransportError(.connectionClosed, address: connection.address, detail: "stream ended without its final frame"))
            }
        }
    }

    private func finish() {
        finished = true
        timer?.cancel()
        connection.close()
    }

    func cancel() {
        timer?.cancel()
        connection.close()
    }
}
