import Foundation

/// The error that crosses every wire: go-micro's `{"id","code","detail","status"}` JSON.
///
/// `code` is an HTTP-style status; `id` names who raised it (usually a service name).
public struct MicroError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Who raised the error, e.g. `greeter` or `go.micro.client`.
    public var id: String
    /// An HTTP-style status code (400, 404, 408, 500, ...).
    public var code: Int32
    /// A human-readable explanation.
    public var detail: String
    /// The HTTP status text for `code` (e.g. `Not Found`).
    public var status: String

    /// Creates an error; `status` defaults to the HTTP status text of `code`.
    public init(id: String, code: Int32, detail: String, status: String? = nil) {
        self.id = id
        self.code = code
        self.detail = detail
        self.status = status ?? MicroError.statusText(code)
    }

    public var description: String {
        var parts: [String] = []
        if !id.isEmpty { parts.append("id=\(id)") }
        parts.append("code=\(code)")
        if !status.isEmpty { parts.append("status=\(status)") }
        if !detail.isEmpty { parts.append("detail=\(detail)") }
        return "MicroError(" + parts.joined(separator: " ") + ")"
    }

    enum CodingKeys: String, CodingKey { case id, code, detail, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        self.code = try c.decodeIfPresent(Int32.self, forKey: .code) ?? 0
        self.detail = try c.decodeIfPresent(String.self, forKey: .detail) ?? ""
        self.status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !id.isEmpty { try c.encode(id, forKey: .id) }
        if code != 0 { try c.encode(code, forKey: .code) }
        if !detail.isEmpty { try c.encode(detail, forKey: .detail) }
        if !status.isEmpty { try c.encode(status, forKey: .status) }
    }

    /// The error as go-micro's JSON text.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses go-micro's error JSON; a text that is not such JSON becomes a 500 carrying it as detail.
    public static func parse(_ text: String) -> MicroError {
        if let data = text.data(using: .utf8),
           let error = try? JSONDecoder().decode(MicroError.self, from: data),
           error.code != 0 || !error.detail.isEmpty || !error.id.isEmpty {
            return error
        }
        return MicroError(id: "", code: 500, detail: text)
    }

    /// 400: the request could not be decoded or is invalid.
    public static func badRequest(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 400, detail: detail) }
    /// 401: the caller is not authenticated.
    public static func unauthorized(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 401, detail: detail) }
    /// 403: the caller may not do this.
    public static func forbidden(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 403, detail: detail) }
    /// 404: no such service, endpoint or record.
    public static func notFound(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 404, detail: detail) }
    /// 405: the method is not allowed.
    public static func methodNotAllowed(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 405, detail: detail) }
    /// 408: the deadline passed.
    public static func timeout(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 408, detail: detail) }
    /// 409: a conflicting state.
    public static func conflict(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 409, detail: detail) }
    /// 413: a message is larger than the configured limit.
    public static func tooLarge(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 413, detail: detail) }
    /// 500: an internal failure.
    public static func internalServerError(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 500, detail: detail) }
    /// 503: no node is available or the service is shutting down.
    public static func unavailable(_ id: String, _ detail: String) -> MicroError { .init(id: id, code: 503, detail: detail) }

    /// The HTTP status text for a code, as Go's `http.StatusText` gives it.
    public static func statusText(_ code: Int32) -> String {
        switch code {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 412: return "Precondition Failed"
        case 413: return "Request Entity Too Large"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return ""
        }
    }

    /// Converts any error to a MicroError: a MicroError stays as it is, a convertible error picks its own, anything else is a 500.
    public static func from(_ error: any Error, id: String) -> MicroError {
        if let e = error as? MicroError { return e }
        if let c = error as? any MicroErrorConvertible { return c.microError }
        if error is CancellationError { return .timeout(id, "call cancelled") }
        return .internalServerError(id, String(describing: error))
    }
}

/// An error that chooses the MicroError a caller sees (like grpc-swift's `RPCErrorConvertible`).
public protocol MicroErrorConvertible: Error {
    /// The MicroError this error becomes when it crosses a wire.
    var microError: MicroError { get }
}
