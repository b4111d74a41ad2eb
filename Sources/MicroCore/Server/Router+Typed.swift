import NIOCore

extension Router {
    /// Registers a unary endpoint: one request in, one response out. With `blocking`, the handler
    /// runs off the event loop (see ``EndpointHandler/blocking``); every `handle` overload takes it.
    public func handle<Request: Sendable, Response: Sendable>(
        _ endpoint: String,
        blocking: Bool = false,
        _ body: @escaping @Sendable (Request, HandlerContext) async throws -> Response
    ) {
        register(EndpointHandler(
            endpoint: Endpoint(name: endpoint, request: Shape.of(Request.self), response: Shape.of(Response.self)),
            kind: .unary,
            body: .unary { [requests = MessageCoder<Request>(), responses = MessageCoder<Response>()] req, ctx, codec in
                let request = try requests.decode(codec, req.body)
                return try responses.encode(codec, try await body(request, ctx))
            }, blocking: blocking))
    }

    /// Registers a server-streaming endpoint: one request in, a stream of responses out.
    public func handle<Request: Sendable, Response: Sendable>(
        _ endpoint: String,
        blocking: Bool = false,
        _ body: @escaping @Sendable (Request, ServerStream<Response>, HandlerContext) async throws -> Void
    ) {
        register(EndpointHandler(
            endpoint: Endpoint(name: endpoint, request: Shape.of(Request.self), response: Shape.of(Response.self)),
            kind: .serverStreaming,
            body: .stream { [requests = MessageCoder<Request>()] _, ctx, codec, inbound, outbound in
                guard let first = try await inbound.next() else { throw MicroError.badRequest(ctx.service, "stream ended before the request") }
                let request = try requests.decode(codec, first)
                try await body(request, ServerStream(writer: outbound, codec: codec), ctx)
            }, blocking: blocking))
    }

    /// Registers a client-streaming endpoint: a stream of requests in, one response out.
    public func handleClientStream<Request: Sendable, Response: Sendable>(
        _ endpoint: String,
        blocking: Bool = false,
        _ body: @escaping @Sendable (RequestStream<Request>, HandlerContext) async throws -> Response
    ) {
        register(EndpointHandler(
            endpoint: Endpoint(name: endpoint, request: Shape.of(Request.self), response: Shape.of(Response.self)),
            kind: .clientStreaming,
            body: .stream { [responses = MessageCoder<Response>()] _, ctx, codec, inbound, outbound in
                let response = try await body(RequestStream(reader: inbound, codec: codec), ctx)
                try await outbound.write(try responses.encode(codec, response))
            }, blocking: blocking))
    }

    /// Registers a bidirectional-streaming endpoint: requests and responses flow independently.
    public func handleBidiStream<Request: Sendable, Response: Sendable>(
        _ endpoint: String,
        blocking: Bool = false,
        _ body: @escaping @Sendable (RequestStream<Request>, ServerStream<Response>, HandlerContext) async throws -> Void
    ) {
        register(EndpointHandler(
            endpoint: Endpoint(name: endpoint, request: Shape.of(Request.self), response: Shape.of(Response.self)),
            kind: .bidirectionalStreaming,
            body: .stream { _, ctx, codec, inbound, outbound in
                try await body(RequestStream(reader: inbound, codec: codec), ServerStream(writer: outbound, codec: codec), ctx)
            }, blocking: blocking))
    }

    /// Registers every endpoint of a handler type (e.g. all `Greeter.*` endpoints at once).
    public func register(_ handlers: some EndpointGroup) {
        handlers.registerEndpoints(on: self)
    }
}

/// A type that serves several endpoints, registered together (go-micro's handler struct with methods).
public protocol EndpointGroup: Sendable {
    /// Registers this type's endpoints on the router.
    func registerEndpoints(on router: Router)
}
