import NIOCore

/// Turns messages into bytes and back for one content type (go-micro's `codec`).
///
/// Messages are `Codable` values, SwiftProtobuf messages, or raw bytes (`ByteBuffer`, `[UInt8]`);
/// each codec says which it supports with a typed ``CodecError``.
public protocol Codec: Sendable {
    /// The content type this codec reads and writes, e.g. `application/json`.
    var contentType: String { get }
    /// Encodes a message.
    func encode<T>(_ value: T) throws -> ByteBuffer
    /// Decodes a message of the given type.
    func decode<T>(_ type: T.Type, from buffer: ByteBuffer) throws -> T
    /// Decodes a `Decodable` message; a codec overrides it to use the concrete type without the
    /// dynamic casts ``decode(_:from:)`` needs. Defaults to ``decode(_:from:)``.
    func decodeValue<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T
    /// Encodes an `Encodable` message (see ``decodeValue(_:from:)``). Defaults to ``encode(_:)``.
    func encodeValue<T: Encodable>(_ value: T) throws -> ByteBuffer
}

extension Codec {
    public func decodeValue<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try decode(type, from: buffer)
    }

    public func encodeValue<T: Encodable>(_ value: T) throws -> ByteBuffer {
        try encode(value)
    }
}

/// Why a message could not be encoded or decoded.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The content type involved.
    public var contentType: String
    /// What went wrong.
    public var reason: String

    /// Creates an error.
    public init(contentType: String, reason: String) {
        self.contentType = contentType
        self.reason = reason
    }

    public var description: String { "\(contentType): \(reason)" }
    public var microError: MicroError { .badRequest("go.micro.codec", description) }
}

/// Raw-bytes handling shared by every codec: a message that is already bytes passes through untouched.
enum RawBytes {
    static func encode<T>(_ value: T) -> ByteBuffer? {
        if let b = value as? ByteBuffer { return b }
        if let b = value as? [UInt8] { return ByteBuffer(bytes: b) }
        return nil
    }

    static func decode<T>(_ type: T.Type, from buffer: ByteBuffer) -> T? {
        if T.self == ByteBuffer.self { return buffer as? T }
        if T.self == [UInt8].self { return Array(buffer.readableBytesView) as? T }
        return nil
    }
}
