import MicroCore
import NIOCore
import NIOHTTP1

/// go-micro's mucp-over-HTTP headers: how an ``RPCRequest`` becomes HTTP headers and back.
enum MucpHeaders {
    /// Headers that are framing, not caller metadata.
    static let reserved: Set<String> = [
        "content-type", "accept", "content-length", "host", "connection", "transfer-encoding", "user-agent",
        "micro-id", "micro-service", "micro-method", "micro-endpoint", "micro-stream", "timeout", "micro-error",
        "x-micro-id", "x-micro-service", "x-micro-method", "x-micro-endpoint", "x-micro-stream", "accept-encoding", "expect",
    ]

    /// Reads go-micro's headers in one pass over the request's headers (the `X-` forms count too);
    /// everything that is not framing becomes the call's metadata.
    static func request(from head: HTTPRequestHead, body: ByteBuffer) throws -> RPCRequest {
        var endpoint = "", method = "", service = "", id = "", contentType = "", timeout = ""
        var isStream = false
        var metadata = Metadata()
        for (name, value) in head.headers {
            let key = name.lowercased()
            switch key {
            case "micro-endpoint", "x-micro-endpoint": if endpoint.isEmpty { endpoint = value }
            case "micro-method", "x-micro-method": if method.isEmpty { method = value }
            case "micro-service", "x-micro-service": if service.isEmpty { service = value }
            case "micro-id", "x-micro-id": if id.isEmpty { id = value }
            case "micro-stream", "x-micro-stream": isStream = true
            case "content-type": if contentType.isEmpty { contentType = value }
            case "timeout": if timeout.isEmpty { timeout = value }
            default: if !reserved.contains(key) { metadata[key] = value }
            }
        }
        if endpoint.isEmpty { endpoint = method }
        if endpoint.isEmpty {
            // go-micro's HTTP handler also routes /Service/Method paths.
            let parts = head.uri.split(separator: "?").first.map { $0.split(separator: "/") } ?? []
            if parts.count == 2 { endpoint = "\(parts[0]).\(parts[1])" }
        }
        guard !endpoint.isEmpty else {
            throw MicroError.badRequest("go.micro.server", "missing Micro-Endpoint header")
        }
        var deadline: NIODeadline?
        if let ns = Int64(timeout), ns > 0 { deadline = .now() + .nanoseconds(ns) }
        return RPCRequest(service: service, endpoint: endpoint, contentType: contentType.isEmpty ? "application/json" : contentType,
                          metadata: metadata, deadline: deadline, id: id, isStream: isStream, body: body)
    }

    static func headers(for request: RPCRequest, host: String) -> HTTPHeaders {
        var h = HTTPHeaders()
        h.reserveCapacity(8 + request.metadata.count)
        h.add(name: "Host", value: host)
        h.add(name: "Content-Type", value: request.contentType)
        h.add(name: "Accept", value: request.contentType)
        if !request.id.isEmpty { h.add(name: "Micro-Id", value: request.id) }
        h.add(name: "Micro-Service", value: request.service)
        h.add(name: "Micro-Method", value: request.endpoint)
        h.add(name: "Micro-Endpoint", value: request.endpoint)
        if request.isStream { h.add(name: "Micro-Stream", value: request.endpoint) }
        if let d = request.deadline {
            let left = d.uptimeNanoseconds > NIODeadline.now().uptimeNanoseconds ? d.uptimeNanoseconds - NIODeadline.now().uptimeNanoseconds : 1
            h.add(name: "Timeout", value: String(left))
        }
        for (k, v) in request.metadata where !reserved.contains(k) && !k.contains(where: { $0 == "\r" || $0 == "\n" }) {
            h.add(name: k, value: v.filter { $0 != "\r" && $0 != "\n" })
        }
        return h
    }
}
