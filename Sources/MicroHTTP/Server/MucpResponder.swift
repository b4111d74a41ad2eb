import MicroCore
import NIOCore
import NIOHTTP1

/// Serves go-micro's RPC over HTTP: `POST /` with `Micro-*` headers to the router, and
/// `GET /health`, `/health/live`, `/health/ready` for probes, and the router's extra `GET` paths
/// (``Router/serveHTTP(get:_:)``).
///
/// A failed mucp call (one that names its endpoint in `Micro-*` headers, as every go-micro and Swift
/// Micro client does) is answered as go-micro answers it: `200 OK`, the request's headers echoed,
/// `Micro-Error` with the error's JSON, and no body — go-micro's client takes any other status for a
/// transport failure. A plain HTTP caller (routing by `/Service/Method` path, or a probe) gets the
/// error's own status with the JSON as the body too.
struct MucpResponder: HTTPResponder {
    let handler: any RPCHandler

    func streamPlan(for head: HTTPRequestHead) -> StreamPlan? {
        guard head.method == .POST, MucpStreamWire.streamID(head.headers) != nil else { return nil }
        let deadline = head.headers.first(name: "Timeout").flatMap { RPCHeaders.deadline(timeout: $0) }
        // go-micro's client sends each message as its own request (its EOS chunked, every other
        // with a Content-Length); otherwise a chunked body (or an HTTP/2 stream) carries the project's frames.
        if head.version.major < 2, MucpStreamWire.error(head.headers) != nil {
            return StreamPlan(framing: .strayEnd, deadline: nil)
        }
        let framed = head.version.major >= 2 || head.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        return StreamPlan(framing: framed ? .frames : .messages, deadline: deadline)
    }

    func respond(_ head: HTTPRequestHead, body: ByteBuffer, peerIdentity: String?) async -> HTTPFullResponse {
        switch head.method {
        case .GET, .HEAD:
            return await health(head, peerIdentity: peerIdentity)
        case .POST:
            break
        default:
            return refusal(.methodNotAllowed("go.micro.server", "\(head.method) is not allowed; use POST"), for: head)
        }
        var request: RPCRequest
        do { request = try MucpHeaders.request(from: head, body: body) } catch {
            return refusal(MicroError.from(error, id: "go.micro.server"), for: head)
        }
        request.peerIdentity = peerIdentity
        switch await handler.handle(request) {
        case .success(let response):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            if !request.id.isEmpty { headers.add(name: "Micro-Id", value: request.id) }
            for (k, v) in response.metadata where MucpHeaders.isSendableName(k) { headers.add(name: k, value: MucpHeaders.sendableValue(v)) }
            return HTTPFullResponse(status: .ok, headers: headers, body: response.body)
        case .failure(let e):
            return refusal(e, for: head)
        }
    }

    func respondStreaming(_ head: HTTPRequestHead, peerIdentity: String?, inbound: MessageReader, outbound: MessageWriter) async -> MicroError? {
        var request: RPCRequest
        do { request = try MucpHeaders.request(from: head, body: ByteBuffer()) } catch {
            return MicroError.from(error, id: "go.micro.server")
        }
        request.peerIdentity = peerIdentity
        return await handler.handleStream(request, inbound: inbound, outbound: outbound)
    }

    func refusal(_ e: MicroError, for head: HTTPRequestHead) -> HTTPFullResponse {
        if MucpStreamWire.isMucpCall(head.headers) {
            var headers = MucpStreamWire.echo(head.headers)
            headers.replaceOrAdd(name: "Micro-Error", value: e.json)
            headers.replaceOrAdd(name: "X-Micro-Error", value: e.json)
            return HTTPFullResponse(status: .ok, headers: headers, body: ByteBuffer())
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Micro-Error", value: e.json)
        let status = (400...599).contains(Int(e.code)) ? HTTPResponseStatus(statusCode: Int(e.code)) : .internalServerError
        return HTTPFullResponse(status: status, headers: headers, body: ByteBuffer(string: e.json))
    }

    private func health(_ head: HTTPRequestHead, peerIdentity: String?) async -> HTTPFullResponse {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        guard ["/health", "/health/live", "/health/ready"].contains(path) else {
            if let route = handler.serverDescription.extensions[HTTPGetRoutes.self]?[path] {
                if let refused = await admit(head, endpoint: BuiltinEndpoints.httpGet(path: path), peerIdentity: peerIdentity) { return refusal(refused, for: head) }
                let page = await route()
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: page.contentType)
                return HTTPFullResponse(status: .ok, headers: headers, body: page.body)
            }
            return refusal(.notFound("go.micro.server", "no such path \(path)"), for: head)
        }
        if let refused = await admit(head, endpoint: BuiltinEndpoints.health, peerIdentity: peerIdentity) { return refusal(refused, for: head) }
        var status = HealthStatus.serving.rawValue
        if path != "/health/live" { status = await handler.health().rawValue }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPFullResponse(status: status == "ok" ? .ok : .serviceUnavailable, headers: headers,
                                body: ByteBuffer(string: "{\"status\":\"\(status)\"}"))
    }

    /// The router's gates (auth) on a `GET` the transport answers itself, as a call to `endpoint`:
    /// the caller's headers are its metadata, and no header can name another endpoint.
    private func admit(_ head: HTTPRequestHead, endpoint: String, peerIdentity: String?) async -> MicroError? {
        do {
            var request = try RPCHeaders.request(head.headers.lazy.map { (name: $0.name, value: $0.value) }, body: ByteBuffer()) { endpoint }
            request.endpoint = endpoint
            request.peerIdentity = peerIdentity
            return await handler.admit(request)
        } catch {
            return MicroError.from(error, id: "go.micro.server")
        }
    }
}
