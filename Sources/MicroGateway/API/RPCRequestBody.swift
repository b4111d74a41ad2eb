import Foundation
import MicroCore
import NIOCore
import NIOFoundationCompat

/// The body of `POST /rpc`: `{"service": "...", "endpoint": "...", "request": {...}}`, where `request`
/// is JSON or a string holding JSON (go-micro accepts both), and may be left out (`{}`).
enum RPCRequestBody {
    static func parse(_ body: ByteBuffer) throws -> (APIRoute, ByteBuffer) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        } catch {
            throw MicroError.badRequest(GatewayCaller.errorID, "request body is not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw MicroError.badRequest(GatewayCaller.errorID, "request body must be a JSON object with service and endpoint")
        }
        guard let service = fields["service"] as? String, !service.isEmpty, service.utf8.count <= 256 else {
            throw MicroError.badRequest(GatewayCaller.errorID, "service is required")
        }
        guard let endpoint = fields["endpoint"] as? String ?? fields["method"] as? String, !endpoint.isEmpty, endpoint.utf8.count <= 256 else {
            throw MicroError.badRequest(GatewayCaller.errorID, "endpoint is required")
        }
        let message: ByteBuffer
        switch fields["request"] {
        case nil, is NSNull: message = ByteBuffer(string: "{}")
        case let text as String: message = ByteBuffer(string: text.isEmpty ? "{}" : text)
        case let value?:
            let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            message = ByteBuffer(data: data)
        }
        return (APIRoute(service: service, endpoint: endpoint), message)
    }
}
