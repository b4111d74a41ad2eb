import NIOCore
import SwiftProtobuf

/// `application/protobuf`: SwiftProtobuf messages in their binary encoding.
public struct ProtobufCodec: Codec {
    public let contentType: String

    /// A protobuf codec answering to `contentType` (`application/protobuf` by default).
    public init(contentType: String = "application/protobuf") {
        self.contentType = contentType
    }

    public func encode<T>(_ value: T) throws -> ByteBuffer {
        if let raw = RawBytes.encode(value) { return raw }
        guard let message = value as? any SwiftProtobuf.Message else {
            throw CodecError(contentType: contentType, reason: "\(T.self) is not a protobuf message")
        }
        do { return ByteBuffer(bytes: try message.serializedBytes() as [UInt8]) } catch {
            throw CodecError(contentType: contentType, reason: "cannot encode \(T.self): \(error)")
        }
    }

    public func decode<T>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        if let raw = RawBytes.decode(type, from: buffer) { return raw }
        guard let messageType = T.self as? any SwiftProtobuf.Message.Type else {
            throw CodecError(contentType: contentType, reason: "\(T.self) is not a protobuf message")
        }
        do {
            return try messageType.init(serializedBytes: Array(buffer.readableBytesView), extensions: nil, partial: false, options: BinaryDecodingOptions()) as! T
        } catch {
            throw CodecError(contentType: contentType, reason: "malformed \(T.self) protobuf: \(error)")
        }
    }
}
