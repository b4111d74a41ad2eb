import NIOConcurrencyHelpers
import NIOCore

/// The caller's typed side of an open stream: send requests, receive responses, in any order.
public final class ClientStream<Request: Sendable, Response: Sendable>: Sendable {
    let channel: any ClientStreamChannel
    let codec: any Codec

    init(channel: any ClientStreamChannel, codec: any Codec) {
        self.channel = channel
        self.codec = codec
    }

    /// Sends one message.
    public func send(_ message: Request) async throws {
        try await channel.send(try codec.encode(message))
    }

    /// Says no more messages will be sent.
    public func finishSending() async throws {
        try await channel.finishSending()
    }

    /// The next response; nil when the handler finished; throws the handler's MicroError.
    public func receive() async throws -> Response? {
        guard let buffer = try await channel.receive() else { return nil }
        do { return try codec.decode(Response.self, from: buffer) } catch {
            channel.cancel()
            throw MicroError.internalServerError("go.micro.client", "cannot decode stream message: \(error)")
        }
    }

    /// Abandons the stream.
    public func cancel() { channel.cancel() }

    deinit { channel.cancel() }
}

/// The responses of a server-streaming call; the stream opens on the first `next()`.
public struct ResponseStream<Response: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Response
    let open: @Sendable () async throws -> any StreamReceiving<Response>

    init<Request>(_ open: @escaping @Sendable () async throws -> ClientStream<Request, Response>) {
        self.open = { try await open() }
    }

    public final class AsyncIterator: AsyncIteratorProtocol {
        let open: @Sendable () async throws -> any StreamReceiving<Response>
        var stream: (any StreamReceiving<Response>)?
        init(open: @escaping @Sendable () async throws -> any StreamReceiving<Response>) { self.open = open }

        public func next() async throws -> Response? {
            if stream == nil { stream = try await open() }
            return try await stream!.receive()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(open: open) }
}

/// Anything that yields typed responses.
public protocol StreamReceiving<Response>: Sendable {
    associatedtype Response: Sendable
    /// The next response, nil at the end.
    func receive() async throws -> Response?
}

extension ClientStream: StreamReceiving {}
