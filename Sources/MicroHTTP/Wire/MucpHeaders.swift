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

    /// The first of the names present (go-micro accepts the `X-` forms too).
    static func first(_ headers: HTTPHeaders, _ names: String...) -> String? {
        for n in names { if let v = headers.first(name: n), !v.isEmpty { return v } }
        return nil
    }

    static func request(from head: HTTPRequestHead, body: ByteBuffer) throws -> RPCRequest {
        let h = head.headers
        var endpoint = first(h, "Micro-Endpoint", "X-Micro-Endpoint", "Micro-Method", "X-Micro-Method") ?? ""
        if endpoint.isEmpty {
            // go-micro's HTTP handler also routes /Service/Method paths.
            let parts = head.uri.split(separator: "?").first.map { $0.split(separator: "/") } ?? []
            if parts.count == 2 { endpoint = "\(parts[0]).\(parts[1])" }
        }
        guard !endpoint.isEmpty else {
            throw MicroError.badRequest("go.micro.server", "missing Micro-Endpoint header")
        }
        var metadata = Metadata()
        for (name, value) in h where !reserved.contains(name.lowercased()) { metadata[name] = value }
        var deadline: NIODeadline?
        if let t = first(h, "Timeout"), let ns = Int64(t), ns > 0 {
            deadline = .now() + .nanoseconds(ns)
        }
        let contentType = first(h, "Content-Type") ?? "application/json"
        return RPCRequest(service: first(h, "Micro-Service", "X-Micro-Service") ?? "", endpoint: endpoint,
                          contentType: contentType, metadata: metadata, deadline: deadline,
                          id: first(h, "Micro-Id", "X-Micro-Id") ?? "",
                          isStream: first(h, "Micro-Stream", "X-Micro-Stream") != nil, body: body)
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
