import NIOCore
import SwiftProtobuf

/// How messages of one type go through any codec, worked out once (when a handler is registered)
/// instead of on every message: a `Codable` type goes straight to the codec's typed
/// `decodeValue`/`encodeValue`; raw bytes and protobuf messages keep the codec's general path.
struct MessageCoder<T>: Sendable {
    let decode: @Sendable (any Codec, ByteBuffer) throws -> T
    let encode: @Sendable (any Codec, T) throws -> ByteBuffer

    init() {
        let general = T.self == ByteBuffer.self || T.self == [UInt8].self || T.self is any SwiftProtobuf.Message.Type
        if !general, let decodable = T.self as? any (Decodable & SendableMetatype).Type {
            decode = Self.decoding(decodable)
        } else {
            decode = { codec, buffer in try codec.decode(T.self, from: buffer) }
        }
        if !general, let encodable = T.self as? any (Encodable & SendableMetatype).Type {
            encode = Self.encoding(encodable)
        } else {
            encode = { codec, value in try codec.encode(value) }
        }
    }

    private static func decoding<D: Decodable & SendableMetatype>(_: D.Type) -> @Sendable (any Codec, ByteBuffer) throws -> T {
        { codec, buffer in try codec.decodeValue(D.self, from: buffer) as! T }   // D is T
    }

    private static func encoding<E: Encodable & SendableMetatype>(_: E.Type) -> @Sendable (any Codec, T) throws -> ByteBuffer {
        { codec, value in try codec.encodeValue(value as! E) }   // E is T
    }
}
