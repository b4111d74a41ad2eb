import NIOCore

/// go-micro's RPC headers (`Micro-Service`, `Micro-Endpoint`, `Micro-Id`, `Timeout`, ...): the
/// names, and how a call is read from them — one reading for every transport that carries headers
/// (HTTP headers, NATS headers, gRPC metadata). Names match case-insensitively; `X-` forms count.
package enum RPCHeaders {
    /// Header names (lowercased) that are framing, not the caller's metadata.
    package static let reserved: Set<String> = [
        "content-type", "accept", "content-length", "host", "connection", "transfer-encoding", "user-agent",
        "accept-encoding", "expect", "timeout",
        "micro-id", "micro-service", "micro-method", "micro-endpoint", "micro-stream", "micro-error",
        "x-micro-id", "x-micro-service", "x-micro-method", "x-micro-endpoint", "x-micro-stream", "x-micro-error",
        "micro-frame", "micro-seq", "micro-ack", "micro-stream-window",
    ]

    /// Reads a call from header fields in one pass; every field that is not framing becomes
    /// metadata (lowercased name). Without `Micro-Endpoint`/`Micro-Method`, `fallbackEndpoint` is
    /// asked (HTTP routes `/Service/Method` paths). A `Timeout` (nanoseconds) that is not a positive
    /// number is ignored, as go-micro does. Throws a 400 when no endpoint is named.
    @inlinable
    package static func request<Fields: Sequence>(
        _ fields: Fields, body: ByteBuffer, fallbackEndpoint: () -> String? = { nil }
    ) throws -> RPCRequest where Fields.Element == (name: String, value: String) {
        var endpoint = "", method = "", service = "", id = "", contentType = "", timeout = ""
        var isStream = false
        var metadata = Metadata()
        for (name, value) in fields {
            let key = name.lowercased()
            switch key {
            case "micro-endpoint", "x-micro-endpoint": if endpoint.isEmpty { endpoint = value }
            case "micro-method", "x-micro-method": if method.isEmpty { method = value }
            case "micro-service", "x-micro-service": if service.isEmpty { service = value }
            case "micro-id", "x-micro-id": if id.isEmpty { id = value }
            case "micro-stream", "x-micro-stream": isStream = true
            case "content-type": if contentType.isEmpty { contentType = value }
            case "timeout": if timeout.isEmpty { timeout = value }
            // A repeated Authorization is kept joined (as gRPC and HTTP join fields), so auth refuses it.
            case BearerToken.header: metadata[key] = metadata[key].map { "\($0), \(value)" } ?? value
            default: if !reserved.contains(key) { metadata[key] = value }
            }
        }
        if endpoint.isEmpty { endpoint = method }
        if endpoint.isEmpty, let fallback = fallbackEndpoint() { endpoint = fallback }
        guard !endpoint.isEmpty else {
            throw MicroError.badRequest("go.micro.server", "missing Micro-Endpoint header")
        }
        return RPCRequest(service: service, endpoint: endpoint, contentType: contentType.isEmpty ? "application/json" : contentType,
                          metadata: metadata, deadline: deadline(timeout: timeout), id: id, isStream: isStream, body: body)
    }

    /// The deadline a `Timeout` header (nanoseconds from now) sets; nil for one that is not a positive number.
    @inlinable
    package static func deadline(timeout: String) -> NIODeadline? {
        guard let ns = Int64(timeout.trimmingSpaces), ns > 0 else { return nil }
        return .now() + .nanoseconds(ns)
    }
}

extension RPCHeaders {
    /// `value` without the ASCII bytes `remove` picks, for a header value that must not hold them.
    /// Works on UTF-8 bytes, not `Character`s: "\r\n" is one grapheme, which a `$0 == "\r"` test misses.
    package static func removingASCII(from value: String, where remove: (UInt8) -> Bool) -> String {
        guard value.utf8.contains(where: { $0 < 0x80 && remove($0) }) else { return value }
        return String(decoding: value.utf8.filter { $0 >= 0x80 || !remove($0) }, as: UTF8.self)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    @usableFromInline
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
