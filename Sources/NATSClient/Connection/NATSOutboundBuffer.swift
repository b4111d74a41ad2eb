import NIOCore

/// The frames waiting to be handed to the channel, written in place.
///
/// Publishing encodes one frame per call, millions of times a second. Going through `ByteBuffer`'s
/// checked write path for each (capacity check, uniqueness check, dynamic exclusivity check of its
/// storage) costs about as much as encoding the frame, so the address of the buffer's bytes is kept
/// between frames and a frame costs a bounds check and its copies.
///
/// The address is only used while it is certainly valid: it is taken (making the storage unique)
/// after any growth, and forgotten whenever the buffer is touched through `ByteBuffer`'s own API or
/// handed out. Nothing else can reach the storage meanwhile: the buffer is private to this value,
/// which lives under the connection's lock. It cannot be copied (a copy would share the storage the
/// address writes to); sending it to another thread sends the storage with it, as for `ByteBuffer`.
struct NATSOutboundBuffer: ~Copyable, @unchecked Sendable {
    private var buffer: ByteBuffer
    /// The address of the first byte of `buffer`'s storage, while `buffer` is its only owner; nil when not known.
    private var base: UnsafeMutableRawPointer?

    init(_ buffer: ByteBuffer = ByteBuffer()) {
        self.buffer = buffer
        self.base = nil
    }

    /// Bytes waiting.
    var readableBytes: Int { buffer.readableBytes }

    /// Writes as much as the socket takes now; what was written is dropped. Returns how much, or that the
    /// connection is broken.
    mutating func write(to socket: NATSSocket) -> NATSSocket.WriteResult {
        let result = buffer.withUnsafeReadableBytes { socket.write($0) }
        if case .wrote(let count) = result { consume(count) }
        return result
    }

    /// Writes a frame of exactly `length` bytes: `body` gets the address to write them to.
    @inline(__always)
    mutating func write(length: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        let at = buffer.writerIndex
        if base == nil || at + length > buffer.capacity { prepare(for: length) }
        body(base.unsafelyUnwrapped + at)
        buffer.moveWriterIndex(forwardBy: length)
    }

    /// Grows the storage if needed (at least doubling) and takes its address.
    @inline(never)
    private mutating func prepare(for length: Int) {
        let needed = buffer.writerIndex + length
        if needed > buffer.capacity {
            buffer.reserveCapacity(Swift.max(needed, 2 * buffer.capacity, 4096))
        }
        // Copies the storage first if it is shared: from here on `buffer` owns it alone.
        base = buffer.withVeryUnsafeMutableBytes { $0.baseAddress! }
    }

    /// Drops the first `count` bytes (they were written to the socket); an emptied buffer starts over, same memory.
    mutating func consume(_ count: Int) {
        buffer.moveReaderIndex(forwardBy: count)
        if buffer.readableBytes == 0 {
            buffer.moveReaderIndex(to: 0)
            buffer.moveWriterIndex(to: 0)
        }
    }

    /// Drops everything waiting (the connection broke).
    mutating func removeAll() {
        buffer.moveReaderIndex(to: 0)
        buffer.moveWriterIndex(to: 0)
    }

    /// Access through `ByteBuffer`'s API (control frames); the address is taken anew afterwards.
    mutating func withBuffer<T>(_ body: (inout ByteBuffer) -> T) -> T {
        base = nil
        return body(&buffer)
    }

    /// Everything written, leaving `next` (emptied) to write to.
    mutating func take(replacingWith next: ByteBuffer) -> ByteBuffer {
        base = nil
        let taken = buffer
        buffer = next
        buffer.clear()
        return taken
    }
}
