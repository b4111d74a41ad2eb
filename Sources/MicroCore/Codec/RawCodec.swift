import NIOCore

/// `application/octet-stream`: the message is the bytes (`ByteBuffer` or `[UInt8]`).
public struct RawCodec: Codec {
    public let contentType = "application/octet-stream"

    /// A raw-bytes codec.
    public init() {}

    public func encode<T>(_ value: T) throws -> ByteBuffer {
        guard let raw = RawBytes.encode(value) else {
            throw CodecError(contentType: contentType, reason: "\(T.self) is not ByteBuffer or [UInt8]")
        }
        return raw
    }

    public func decode<T>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard let raw = RawBytes.decode(type, from: buffer) else {
            throw CodecError(contentType: contentType, reason: "\(T.self) is not ByteBuffer or [UInt8]")
        }
        return raw
    }
}
