import Foundation
import MicroCore
import NIOCore
import NIOFoundationCompat

/// `application/json` through Foundation's JSONDecoder/JSONEncoder — the same JSON work the raw
/// baseline does — so `micro-bench rpc` can show the framework's overhead with identical JSON beside
/// its figure with its own codec.
struct FoundationJSONCodec: Codec {
    let contentType = "application/json"
    private static let decoder = JSONDecoder()
    private static let encoder = JSONEncoder()

    func encode<T>(_ value: T) throws -> ByteBuffer {
        guard let encodable = value as? any Encodable else { throw CodecError(contentType: contentType, reason: "\(T.self) is not Encodable") }
        return ByteBuffer(data: try Self.encoder.encode(encodable))
    }

    func decode<T>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard let decodable = T.self as? any Decodable.Type else { throw CodecError(contentType: contentType, reason: "\(T.self) is not Decodable") }
        return try Self.decoder.decode(decodable, from: buffer) as! T
    }

    func decodeValue<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try Self.decoder.decode(T.self, from: buffer)
    }

    func encodeValue<T: Encodable>(_ value: T) throws -> ByteBuffer {
        ByteBuffer(data: try Self.encoder.encode(value))
    }
}
