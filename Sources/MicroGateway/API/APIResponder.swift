import Foundation
import HTTPTypes
import Hummingbird
import MicroCore
import NIOCore

/// `micro api`'s routes: `POST /rpc` with `{service, endpoint, request}`, `POST /<service>/<method>`
/// by go-micro's path rules, `GET /openapi.json`; CORS preflights; everything else is go-micro's 404.
struct APIResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let caller: GatewayCaller
    var configuration: GatewayConfiguration { caller.configuration }

    func respond(to request: Request, context: Context) async throws -> Response {
        let origin = request.headers[.origin]
        if request.method == .options {
            var response = Response(status: .noContent)
            let headers = configuration.cors.headers(origin: origin, preflight: true,
                                                     requestedHeaders: request.headers[.accessControlRequestHeaders])
            for (name, value) in headers { if let field = HTTPField.Name(name) { response.headers[field] = value } }
            return response
        }
        var response = await route(request)
        for (name, value) in configuration.cors.headers(origin: origin, preflight: false, requestedHeaders: nil) {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        return response
    }

    func route(_ request: Request) async -> Response {
        let path = request.uri.path
        if path == "/openapi.json" {
            guard request.method == .get || request.method == .head else { return Self.methodNotAllowed(request) }
            return await openAPI()
        }
        guard request.method == .post else { return Self.methodNotAllowed(request) }
        let body: ByteBuffer
        do { body = try await caller.readBody(request) } catch { return HTTPAnswer.error(GatewayCaller.microError(error)) }
        if path == "/rpc" {
            do {
                let (route, message) = try RPCRequestBody.parse(body)
                return await caller.call(route, body: message, request: request)
            } catch {
                return HTTPAnswer.error(GatewayCaller.microError(error))
            }
        }
        guard let route = APIRoute.resolve(path: path, namespace: configuration.namespace) else {
            return HTTPAnswer.error(.notFound(GatewayCaller.errorID, "no endpoint at this path"))
        }
        return await caller.call(route, body: body, request: request)
    }

    static func methodNotAllowed(_ request: Request) -> Response {
        HTTPAnswer.error(.methodNotAllowed(GatewayCaller.errorID, "method \(request.method.rawValue) not allowed"))
    }

    /// The OpenAPI document of what the registry holds now.
    func openAPI() async -> Response {
        do {
            let services = try await RegistrySnapshot.services(caller.client.selector.cache)
            return HTTPAnswer.json(ByteBuffer(data: OpenAPIDocument.json(for: services, namespace: configuration.namespace)))
        } catch {
            return HTTPAnswer.error(GatewayCaller.microError(error))
        }
    }
}
