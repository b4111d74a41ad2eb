/// The codecs a client or server knows, found by content type (parameters such as `; charset=utf-8` ignored).
public struct Codecs: Sendable {
    private var byType: [String: any Codec]

    /// The defaults: JSON, protobuf (also as `application/x-protobuf`) and raw bytes.
    public static let standard = Codecs([
        JSONCodec(), ProtobufCodec(), ProtobufCodec(contentType: "application/x-protobuf"), RawCodec(),
    ])

    /// A set of codecs.
    public init(_ codecs: [any Codec]) {
        byType = [:]
        for c in codecs { byType[c.contentType] = c }
    }

    /// Adds or replaces a codec.
    public mutating func register(_ codec: any Codec) { byType[codec.contentType] = codec }

    /// The codec for a content type, or a 415-style error naming it.
    public func codec(for contentType: String) throws -> any Codec {
        if let c = byType[contentType] { return c }
        let base = Self.baseType(contentType)
        if let c = byType[base] { return c }
        throw MicroError(id: "go.micro.codec", code: 415, detail: "unsupported content type \(contentType)")
    }

    /// The media type without parameters, lowercased.
    public static func baseType(_ contentType: String) -> String {
        let head = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? contentType
        return head.trimmingCharacters(in: .whitespaces).lowercased()
    }
}

import Foundation
