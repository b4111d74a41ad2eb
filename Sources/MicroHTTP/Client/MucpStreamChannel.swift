import MicroCore
import NIOCore
import NIOHTTP1

/// The caller's side of a stream over HTTP/1.1 in go-micro's form (``MucpStreamWire``): an opening
/// request, then each message sent as a request of its own and each answer read as a whole
/// response, `Micro-Error: EOS` ending either side. The connection is the stream's alone and closes
/// with it. Safety: `send`/`finishSending` come from one task and `receive` from one task.
final class MucpStreamChannel: ClientStreamChannel, @unchecked Sendable {
    private let stream: StreamConnection
    private let headers: HTTPHeaders
    private let maxMessageSize: Int
    private var finished = false

    /// Sends the opening request on `connection` (a dedicated one reading unsolicited answers).
    static func open(_ headers: HTTPHeaders, on connection: HTTPConnection, maxMessageSize: Int, deadline: NIODeadline?) async throws -> MucpStreamChannel {
        let channel = MucpStreamChannel(connection: connection, headers: headers, maxMessageSize: maxMessageSize, deadline: deadline)
        do {
            // go-micro's generated clients open with an empty request object; its server drops that body.
            try await channel.write(ByteBuffer())
        } catch {
            channel.cancel()
            throw TransportError(.connectFailed, address: connection.address, detail: "\(error)")
        }
        return channel
    }

    private init(connection: HTTPConnection, headers: HTTPHeaders, maxMessageSize: Int, deadline: NIODeadline?) {
        self.stream = StreamConnection(connection, deadline: deadline)
        self.headers = headers
        self.maxMessageSize = maxMessageSize
    }

    private func write(_ body: ByteBuffer, error: String? = nil) async throws {
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/",
                                   headers: MucpStreamWire.headers(headers, length: body.readableBytes, error: error))
        if body.readableBytes > 0 {
            try await stream.connection.write([.head(head), .body(.byteBuffer(body)), .end(nil)])
        } else {
            try await stream.connection.write([.head(head), .end(nil)])
        }
    }

    func send(_ message: ByteBuffer) async throws {
        guard message.readableBytes <= maxMessageSize else {
            throw MicroError.tooLarge("go.micro.client", "stream message of \(message.readableBytes) bytes exceeds the limit of \(maxMessageSize) bytes")
        }
        do { try await write(message) } catch { throw stream.broken(error) }
        if pacer.wrote() {
            await stream.yieldToLoop()
        }
    }

    private var pacer = WritePacer()

    func finishSending() async throws {
        do { try await write(ByteBuffer(), error: MucpStreamWire.endOfStream) } catch {
            // The handler already answered and closed: what it said is read by `receive`.
            if !stream.connection.isActive && !finished { return }
            throw stream.broken(error)
        }
    }

    func receive() async throws -> ByteBuffer? {
        if finished { return nil }
        var status = HTTPResponseStatus.ok
        var error: String?
        var body = ByteBuffer()
        while true {
            let part: HTTPClientResponsePart?
            do {
                part = try await stream.next()
            } catch {
                finish()
                throw stream.broken(error)
            }
            switch part {
            case .head(let head):
                status = head.status
                error = MucpStreamWire.error(head.headers)
                body = ByteBuffer()
            case .body(var chunk):
                if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
            case .end:
                if let error {
                    finish()
                    if error == MucpStreamWire.endOfStream { return nil }
                    throw MicroError.parse(error)
                }
                guard status == .ok else {
                    finish()
                    throw HTTPClientTransport.statusError(status, body: body)
                }
                return body
            case nil:
                finish()
                throw stream.broken(TransportError(.connectionClosed, address: stream.address, detail: "stream ended without its final message"))
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
