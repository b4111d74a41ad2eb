import NIOCore

/// The messages arriving on a stream, read one at a time with backpressure: the peer is not read
/// further until the consumer asks for the next message.
public struct MessageReader: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    private let pull: @Sendable () async throws -> ByteBuffer?

    /// A reader over a pull function that returns nil at the end of the stream.
    public init(_ pull: @escaping @Sendable () async throws -> ByteBuffer?) {
        self.pull = pull
    }

    /// The next message, or nil when the peer finished sending.
    public func next() async throws -> ByteBuffer? { try await pull() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pull: @Sendable () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await pull() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pull: pull) }
}

/// Where a stream's outgoing messages go; `write` waits while the peer is not reading.
public struct MessageWriter: Sendable {
    private let push: @Sendable (ByteBuffer) async throws -> Void

    /// A writer over a push function.
    public init(_ push: @escaping @Sendable (ByteBuffer) async throws -> Void) {
        self.push = push
    }

    /// Sends one message.
    public func write(_ message: ByteBuffer) async throws { try await push(message) }
}

/// The caller's side of an open stream.
public protocol ClientStreamChannel: Sendable {
    /// Sends one message to the handler.
    func send(_ message: ByteBuffer) async throws
    /// Says no more messages will be sent.
    func finishSending() async throws
    /// The next message from the handler; nil when it finished; throws its MicroError.
    func receive() async throws -> ByteBuffer?
    /// Abandons the stream and frees its connection.
    func cancel()
}
