import NIOCore

/// A handler's typed outgoing stream: each `send` encodes one message and waits while the caller is not reading.
public struct ServerStream<Message: Sendable>: Sendable {
    let writer: MessageWriter
    let codec: any Codec
    private let coder = MessageCoder<Message>()

    /// Wraps a byte writer with a codec.
    public init(writer: MessageWriter, codec: any Codec) {
        self.writer = writer
        self.codec = codec
    }

    /// Sends one message to the caller.
    public func send(_ message: Message) async throws {
        try await writer.write(try coder.encode(codec, message))
    }
}

/// A handler's typed incoming stream: the caller's messages, decoded one at a time.
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Message
    let reader: MessageReader
    let codec: any Codec
    private let coder = MessageCoder<Message>()

    /// Wraps a byte reader with a codec.
    public init(reader: MessageReader, codec: any Codec) {
        self.reader = reader
        self.codec = codec
    }

    /// The next message, nil when the caller finished sending; a message that does not decode throws a 400.
    public func next() async throws -> Message? {
        guard let buffer = try await reader.next() else { return nil }
        return try coder.decode(codec, buffer)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: RequestStream<Message>
        public mutating func next() async throws -> Message? { try await stream.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
