import MicroCore
import NIOCore

/// gRPC content types (`application/grpc`, `application/grpc+proto`, `application/grpc+json`, ...)
/// and the codec content types they stand for.
///
/// grpc-swift's HTTP/2 transport speaks `application/grpc` only; per-stream channel handlers let any
/// `+subtype` through it (server: `GRPCRequestChecker` and `GRPCResponseHeadersRewriter`; client:
/// `GRPCClientContentTypeHandler`): on the way in they rewrite the header to
/// `application/grpc` and record the subtype in a private header, on the way out they put it back.
package enum GRPCContentType {
    /// The private header that carries a subtype past grpc-swift's transport (never on the wire).
    static let subtypeHeader = "micro-grpc-subtype"

    /// The subtype of a gRPC content type: `""` for `application/grpc` and `+proto`, `json` for
    /// `application/grpc+json`; nil for anything that is not gRPC. Parameters are ignored.
    package static func subtype(of contentType: String) -> String? {
        if contentType == "application/grpc" { return "" }
        let base = mediaType(contentType)
        guard base.hasPrefix("application/grpc") else { return nil }
        let rest = base.dropFirst("application/grpc".count)
        if rest.isEmpty { return "" }
        guard rest.first == "+" else { return nil }
        let sub = String(rest.dropFirst())
        return sub == "proto" ? "" : sub
    }

    /// The media type of a content type: parameters dropped, spaces trimmed, lowercased (ASCII).
    static func mediaType(_ contentType: String) -> String {
        var bytes = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }[...]
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
        return String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// The codec content type for a subtype: protobuf for none, `application/json` for `json`,
    /// `application/<subtype>` otherwise.
    package static func codecContentType(subtype: String) -> String {
        switch subtype {
        case "", "proto": return "application/protobuf"
        case "json": return "application/json"
        default: return "application/\(subtype)"
        }
    }

    /// The gRPC subtype for a codec content type (`application/json` → `json`, protobuf → none).
    package static func subtype(forCodecContentType contentType: String) -> String {
        if let sub = subtype(of: contentType) { return sub }
        let base = mediaType(contentType)
        switch base {
        case "application/protobuf", "application/x-protobuf", "application/proto", "": return ""
        default: return base.hasPrefix("application/") ? String(base.dropFirst("application/".count)) : base
        }
    }

    /// The full gRPC content type for a subtype.
    package static func grpcContentType(subtype: String) -> String {
        subtype.isEmpty ? "application/grpc" : "application/grpc+\(subtype)"
    }
}

extension Codecs {
    /// The standard codecs plus gRPC's names for them: `application/grpc` and `+proto` (protobuf),
    /// `+json` (JSON), so a client may name its content type either way.
    package static let withGRPCContentTypes: Codecs = {
        var codecs = Codecs.standard
        codecs.register(ProtobufCodec(contentType: "application/grpc"))
        codecs.register(ProtobufCodec(contentType: "application/grpc+proto"))
        codecs.register(JSONCodec(contentType: "application/grpc+json"))
        return codecs
    }()
}
