import Foundation
import NIOCore
import NIOFoundationCompat
import SwiftProtobuf

/// `application/json`: Codable values through the framework's own JSON coders (Foundation's output
/// and defaults, a fraction of the cost), protobuf messages through their JSON mapping.
public struct JSONCodec: Codec {
    public let contentType: String

    /// A JSON codec answering to `contentType` (`application/json` by default).
    public init(contentType: String = "application/json") {
        self.contentType = contentType
    }

    public func encode<T>(_ value: T) throws -> ByteBuffer {
        if let raw = RawBytes.encode(value) { return raw }
        if let message = value as? any SwiftProtobuf.Message {
            do { return ByteBuffer(bytes: try message.jsonUTF8Bytes() as [UInt8]) } catch {
                throw CodecError(contentType: contentType, reason: "cannot encode \(T.self): \(error)")
            }
        }
        guard let encodable = value as? any Encodable else {
            throw CodecError(contentType: contentType, reason: "\(T.self) is neither Codable nor a protobuf message")
        }
        do {
            return ByteBuffer(bytes: try JSONStreamEncoding.encode(encodable))
        } catch {
            throw CodecError(contentType: contentType, reason: "cannot encode \(T.self): \(error)")
        }
    }

    public func decode<T>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        if let raw = RawBytes.decode(type, from: buffer) { return raw }
        if let messageType = T.self as? any SwiftProtobuf.Message.Type {
            do {
                let m = try messageType.init(jsonUTF8Bytes: Array(buffer.readableBytesView), extensions: nil, options: JSONDecodingOptions())
                return m as! T
            } catch {
                throw CodecError(contentType: contentType, reason: "malformed \(T.self) JSON: \(error)")
            }
        }
        guard let decodable = T.self as? any Decodable.Type else {
            throw CodecError(contentType: contentType, reason: "\(T.self) is neither Codable nor a protobuf message")
        }
        do {
            return try JSONTapeDecoding.decode(decodable, from: Self.text(buffer)) as! T
        } catch let error as DecodingError {
            throw CodecError(contentType: contentType, reason: "malformed \(T.self) JSON: \(Self.describe(error))")
        } catch {
            throw CodecError(contentType: contentType, reason: "malformed \(T.self) JSON: \(error)")
        }
    }

    public func decodeValue<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try JSONTapeDecoding.decode(T.self, from: Self.text(buffer))
        } catch let error as DecodingError {
            throw CodecError(contentType: contentType, reason: "malformed \(T.self) JSON: \(Self.describe(error))")
        } catch {
            throw CodecError(contentType: contentType, reason: "malformed \(T.self) JSON: \(error)")
        }
    }

    public func encodeValue<T: Encodable>(_ value: T) throws -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try JSONStreamEncoding.encode(value))
        } catch {
            throw CodecError(contentType: contentType, reason: "cannot encode \(T.self): \(error)")
        }
    }

    /// The JSON text of a body; an empty body reads as `{}`.
    private static func text(_ buffer: ByteBuffer) -> [UInt8] {
        buffer.readableBytes == 0 ? [UInt8(ascii: "{"), UInt8(ascii: "}")] : Array(buffer.readableBytesView)
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c): return "data corrupted at \(path(c.codingPath))"
        case .keyNotFound(let k, let c): return "missing key '\(k.stringValue)' at \(path(c.codingPath))"
        case .typeMismatch(let t, let c): return "expected \(t) at \(path(c.codingPath))"
        case .valueNotFound(let t, let c): return "missing \(t) value at \(path(c.codingPath))"
        @unknown default: return "\(error)"
        }
    }

    private static func path(_ p: [any CodingKey]) -> String {
        p.isEmpty ? "top level" : p.map(\.stringValue).joined(separator: ".")
    }
}
