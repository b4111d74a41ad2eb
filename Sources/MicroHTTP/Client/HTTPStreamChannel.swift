import MicroCore
import NIOCore
import NIOHTTP1

/// The caller's side of a stream over HTTP/2: request frames in the stream's request body, response
/// frames in its answer's body (the same framing a chunked HTTP/1.1 request gets from the server).
/// The stream is the call's alone and closes with it.
/// Safety: `send`/`finishSending` come from one task and `receive` from one task; the decoder state is
/// touched only by `receive`.
final class HTTPStreamChannel: ClientStreamChannel, @unchecked Sendable {
    private let stream: StreamConnection
    private let maxMessageSize: Int
    private var decoder: StreamFrameDecoder
    private var sawHead = false
    private var finished = false

    init(connection: HTTPConnection, maxMessageSize: Int, deadline: NIODeadline?) {
        self.stream = StreamConnection(connection, deadline: deadline)
        self.maxMessageSize = maxMessageSize
        self.decoder = StreamFrameDecoder(maxMessageSize: maxMessageSize)
    }

    func send(_ message: ByteBuffer) async throws {
        guard message.readableBytes <= maxMessageSize else {
            throw MicroError.tooLarge("go.micro.client", "stream message of \(message.readableBytes) bytes exceeds the limit of \(maxMessageSize) bytes")
        }
        do { try await stream.connection.write(.body(.byteBuffer(StreamFrame.encode(.message, message)))) } catch {
            throw stream.broken(error)
        }
        if pacer.wrote() {
            await stream.yieldToLoop()
        }
    }

    private var pacer = WritePacer()

    func finishSending() async throws {
        do { try await stream.connection.write(.end(nil)) } catch {
            // The handler already answered and closed: what it said is read by `receive`.
            if !stream.connection.isActive && !finished { return }
            throw stream.broken(error)
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
                part = try await stream.next()
            } catch {
                finish()
                throw stream.broken(error)
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
                throw stream.broken(TransportError(.connectionClosed, address: stream.address, detail: "stream ended without its final frame"))
            }
        }
    }

    private func finish() {
        finished = true
        stream.close()
    }

    func cancel() {
        stream.close()
    }
}
