import MicroCore
import NIOCore
import NIOHTTP1

/// Serves go-micro's RPC over HTTP: `POST /` with `Micro-*` headers to the router, `Micro-Error` for
/// application errors, and `GET /health`, `/health/live`, `/health/ready` for probes.
struct MucpResponder: HTTPResponder {
    let handler: any RPCHandler

    func isStreaming(_ head: HTTPRequestHead) -> Bool {
        head.method == .POST && (head.headers.contains(name: "Micro-Stream") || head.headers.contains(name: "X-Micro-Stream"))
    }

    func respond(_ head: HTTPRequestHead, body: ByteBuffer) async -> HTTPFullResponse {
        switch head.method {
        case .GET, .HEAD:
            return await health(head)
        case .POST:
            break
        default:
            return error(.methodNotAllowed("go.micro.server", "\(head.method) is not allowed; use POST"), id: nil)
        }
        let request: RPCRequest
        do { request = try MucpHeaders.request(from: head, body: body) } catch {
            return self.error(MicroError.from(error, id: "go.micro.server"), id: nil)
        }
        switch await handler.handle(request) {
        case .success(let response):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            if !request.id.isEmpty { headers.add(name: "Micro-Id", value: request.id) }
            for (k, v) in response.metadata { headers.add(name: k, value: v) }
            return HTTPFullResponse(status: .ok, headers: headers, body: response.body)
        case .failure(let e):
            return error(e, id: request.id)
        }
    }

    func respondStreaming(_ head: HTTPRequestHead, inbound: MessageReader, outbound: MessageWriter) async -> MicroError? {
        let request: RPCRequest
        do { request = try MucpHeaders.request(from: head, body: ByteBuffer()) } catch {
            return MicroError.from(error, id: "go.micro.server")
        }
        return await handler.handleStream(request, inbound: inbound, outbound: outbound)
    }

    private func health(_ head: HTTPRequestHead) async -> HTTPFullResponse {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        guard ["/health", "/health/live", "/health/ready"].contains(path) else {
            return error(.notFound("go.micro.server", "no such path \(path)"), id: nil)
        }
        var status = HealthStatus.serving.rawValue
        if path != "/health/live" { status = await handler.health().rawValue }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPFullResponse(status: status == "ok" ? .ok : .serviceUnavailable, headers: headers,
                                body: ByteBuffer(string: "{\"status\":\"\(status)\"}"))
    }

    private func error(_ e: MicroError, id: String?) -> HTTPFullResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Micro-Error", value: e.json)
        if let id, !id.isEmpty { headers.add(name: "Micro-Id", value: id) }
        let status = (400...599).contains(Int(e.code)) ? HTTPResponseStatus(statusCode: Int(e.code)) : .internalServerError
        return HTTPFullResponse(status: status, headers: headers, body: ByteBuffer(string: e.json))
    }
}
