import Foundation
import HTTPTypes
import Hummingbird
import MicroCore
import NIOCore

/// The responses the gateway and the dashboard give: JSON, go-micro's error JSON with its status, HTML.
enum HTTPAnswer {
    /// A JSON body as it came from a service.
    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// go-micro's error JSON, with the HTTP status its code names (500 when the code is not one).
    static func error(_ error: MicroError) -> Response {
        let code = (100...599).contains(Int(error.code)) ? Int(error.code) : 500
        return Response(status: .init(code: code), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: error.json)))
    }

    /// A page or fragment of HTML (already escaped where it holds anything from outside).
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                           .init("X-Content-Type-Options")!: "nosniff",
                                           .contentSecurityPolicy: "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A fixed asset from the binary.
    static func asset(_ text: String, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType, .cacheControl: "max-age=300", .init("X-Content-Type-Options")!: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Encodes a value as JSON (sorted keys, so documents compare and diff).
    static func encoded<T: Encodable>(_ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return json(ByteBuffer(data: try encoder.encode(value)))
        } catch {
            return self.error(.internalServerError("go.micro.api", "cannot encode the answer: \(error)"))
        }
    }
}
