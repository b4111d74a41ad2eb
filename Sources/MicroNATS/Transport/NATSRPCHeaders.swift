import Foundation
import MicroCore
import NATSClient
import NIOCore

/// go-micro's RPC headers as NATS message headers: how an ``RPCRequest`` and its answer travel.
///
/// A request carries `Micro-Service`, `Micro-Endpoint` and `Micro-Method` (both the endpoint, as
/// go-micro sends them), `Content-Type`, `Micro-Id`, `Timeout` (nanoseconds left, decimal),
/// `Micro-Stream` (the endpoint, streams only) and the caller's metadata as further headers. An
/// answer carries `Content-Type`, `Micro-Id` and the handler's metadata; an application error
/// carries `Micro-Error` with go-micro's error JSON (also the payload). Names match
/// case-insensitively and `X-` forms are accepted, as go-micro reads them.
enum NATSRPCHeaders {
    static let service = "Micro-Service"
    static let endpoint = "Micro-Endpoint"
    static let method = "Micro-Method"
    static let id = "Micro-Id"
    static let stream = "Micro-Stream"
    static let error = "Micro-Error"
    static let timeout = "Timeout"
    static let contentType = "Content-Type"

    /// Headers that are framing, not metadata (lowercased).
    static var reserved: Set<String> { RPCHeaders.reserved }

    /// Whether `name` can be sent as a NATS header name (no space, control character or `:`).
    static func isSendableName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: ":") }
    }

    /// A value with line breaks removed (they would end the header).
    static func sendableValue(_ value: String) -> String {
        RPCHeaders.removingASCII(from: value) { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
    }

    /// The headers of a call (or of a stream's opening message when `streamWindow` is given).
    static func request(_ request: RPCRequest, streamWindow: Int? = nil) -> NATSHeaders {
        var h = NATSHeaders()
        h.add(contentType, sendableValue(request.contentType))
        if !request.id.isEmpty { h.add(id, sendableValue(request.id)) }
        h.add(service, sendableValue(request.service))
        h.add(endpoint, sendableValue(request.endpoint))
        h.add(method, sendableValue(request.endpoint))
        if let streamWindow {
            h.add(stream, sendableValue(request.endpoint))
            h.add(NATSStreamFrame.windowHeader, String(streamWindow))
        }
        if let d = request.deadline {
            let now = NIODeadline.now()
            let left = d > now ? (d - now).nanoseconds : 1
            h.add(timeout, String(left))
        }
        for (k, v) in request.metadata where !reserved.contains(k) && isSendableName(k) {
            h.add(k, sendableValue(v))
        }
        return h
    }

    /// Reads a call from a message's headers; everything that is not framing becomes metadata.
    /// Throws a 400 for a message without an endpoint.
    static func parseRequest(_ headers: NATSHeaders, body: ByteBuffer) throws -> RPCRequest {
        try RPCHeaders.request(headers.lazy.map { (name: $0.name, value: $0.value) }, body: body)
    }

    /// The headers of a successful answer.
    static func response(_ response: RPCResponse, id requestID: String) -> NATSHeaders {
        var h = NATSHeaders()
        h.add(contentType, sendableValue(response.contentType))
        if !requestID.isEmpty { h.add(id, sendableValue(requestID)) }
        for (k, v) in response.metadata where !reserved.contains(k) && isSendableName(k) {
            h.add(k, sendableValue(v))
        }
        return h
    }

    /// The headers of an error answer.
    static func error(_ e: MicroError, id requestID: String) -> NATSHeaders {
        var h = NATSHeaders()
        h.add(contentType, "application/json")
        h.add(error, sendableValue(e.json))
        if !requestID.isEmpty { h.add(id, sendableValue(requestID)) }
        return h
    }

    /// The answer of a unary call: the handler's error as a ``MicroError``, or the response.
    static func parseResponse(_ message: NATSMessage) throws -> RPCResponse {
        let headers = message.headers ?? NATSHeaders()
        if let e = headers[error] ?? headers["X-Micro-Error"], !e.isEmpty {
            throw MicroError.parse(e)
        }
        var metadata = Metadata()
        var type = "application/json"
        for field in headers {
            let key = field.name.lowercased()
            if key == "content-type" { type = field.value; continue }
            if !reserved.contains(key) { metadata[key] = field.value }
        }
        return RPCResponse(contentType: type, metadata: metadata, body: message.payload)
    }
}
