import MicroCore
import NIOCore

/// One message of a stream inside a chunked HTTP body: a flag byte, a 4-byte big-endian length, the payload.
/// Flag 0 carries a message, 1 ends the stream cleanly, 2 ends it with a MicroError JSON payload.
struct StreamFrame: Equatable {
    enum Kind: UInt8 { case message = 0, end = 1, error = 2 }
    var kind: Kind
    var payload: ByteBuffer

    static func encode(_ kind: Kind, _ payload: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var out = allocator.buffer(capacity: 5 + payload.readableBytes)
        out.writeInteger(kind.rawValue)
        out.writeInteger(UInt32(payload.readableBytes))
        var p = payload
        out.writeBuffer(&p)
        return out
    }
}

/// Cuts frames out of a byte stream that arrives in arbitrary pieces; bounded by a maximum message size.
struct StreamFrameDecoder {
    let maxMessageSize: Int
    private var buffer = ByteBuffer()

    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    mutating func append(_ bytes: ByteBuffer) {
        var b = bytes
        if buffer.readableBytes == 0 { buffer = b; return }
        buffer.writeBuffer(&b)
    }

    /// The next whole frame, nil if more bytes are needed.
    mutating func next() throws -> StreamFrame? {
        guard buffer.readableBytes >= 5,
              let flag: UInt8 = buffer.getInteger(at: buffer.readerIndex),
              let length: UInt32 = buffer.getInteger(at: buffer.readerIndex + 1) else { return nil }
        guard let kind = StreamFrame.Kind(rawValue: flag) else {
            throw TransportError(.protocolViolation, address: "", detail: "unknown stream frame flag \(flag)")
        }
        guard Int(length) <= maxMessageSize else {
            throw TransportError(.messageTooLarge, address: "", detail: "stream message of \(length) bytes exceeds the limit of \(maxMessageSize)")
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        let payload = buffer.readSlice(length: Int(length))!
        if buffer.readableBytes == 0 { buffer.clear() } else if buffer.readerIndex > 65536 { buffer.discardReadBytes() }
        return StreamFrame(kind: kind, payload: payload)
    }

    /// Bytes received but not yet a whole frame.
    var pendingBytes: Int { buffer.readableBytes }
}
