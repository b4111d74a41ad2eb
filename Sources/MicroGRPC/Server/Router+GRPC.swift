import GRPCCore
import MicroCore
import NIOCore
import SwiftProtobuf

/// Protobuf-first endpoints: register a method of a generated service by its descriptor
/// (`Helloworld_Greeter.Method.SayHello.descriptor`) with typed protobuf messages. The endpoint is
/// `Service.Method` (callable over every transport, with protobuf or JSON), and over gRPC it also
/// answers on the proto path `/<package>.Service/Method` that native gRPC clients call.
///
/// A handler may throw an `RPCError`: over gRPC the call then ends with exactly that status; other
/// transports see the MicroError it maps to.
///
/// Add the proto's descriptor set first (``MicroCore/Router/addDescriptorSet(_:)``): server
/// reflection then describes the service, and the registered request and response shapes list the
/// messages' fields.
extension Router {
    /// Registers a unary method.
    public func handle<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ body: @escaping @Sendable (Request, HandlerContext) async throws -> Response
    ) {
        register(grpcEndpoint(method, Request.self, Response.self, type: .unary) { req, ctx, codec in
            let request = try codec.decode(Request.self, from: req.body)
            let response = try await Self.mappingRPCErrors(ctx) { try await body(request, ctx) }
            return try codec.encode(response)
        })
    }

    /// Registers a server-streaming method.
    public func handle<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ body: @escaping @Sendable (Request, ServerStream<Response>, HandlerContext) async throws -> Void
    ) {
        register(grpcEndpoint(method, Request.self, Response.self, type: .serverStreaming) { _, ctx, codec, inbound, outbound in
            guard let first = try await inbound.next() else { throw MicroError.badRequest(ctx.service, "stream ended before the request") }
            let request = try codec.decode(Request.self, from: first)
            try await Self.mappingRPCErrors(ctx) { try await body(request, ServerStream(writer: outbound, codec: codec), ctx) }
        })
    }

    /// Registers a client-streaming method.
    public func handleClientStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ body: @escaping @Sendable (RequestStream<Request>, HandlerContext) async throws -> Response
    ) {
        register(grpcEndpoint(method, Request.self, Response.self, type: .clientStreaming) { _, ctx, codec, inbound, outbound in
            let response = try await Self.mappingRPCErrors(ctx) { try await body(RequestStream(reader: inbound, codec: codec), ctx) }
            try await outbound.write(try codec.encode(response))
        })
    }

    /// Registers a bidirectional-streaming method.
    public func handleBidiStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ body: @escaping @Sendable (RequestStream<Request>, ServerStream<Response>, HandlerContext) async throws -> Void
    ) {
        register(grpcEndpoint(method, Request.self, Response.self, type: .bidirectionalStreaming) { _, ctx, codec, inbound, outbound in
            try await Self.mappingRPCErrors(ctx) {
                try await body(RequestStream(reader: inbound, codec: codec), ServerStream(writer: outbound, codec: codec), ctx)
            }
        })
    }

    private func grpcEndpoint<Request, Response>(_ method: MethodDescriptor, _ request: Request.Type, _ response: Response.Type,
                                                 type: MethodDescriptor.RPCType,
                                                 unary: @escaping EndpointHandler.Unary) -> EndpointHandler {
        EndpointHandler(endpoint: endpoint(method, request, response, type: type), kind: Self.kind(type), body: .unary(unary))
    }

    private func grpcEndpoint<Request, Response>(_ method: MethodDescriptor, _ request: Request.Type, _ response: Response.Type,
                                                 type: MethodDescriptor.RPCType,
                                                 stream: @escaping EndpointHandler.Streaming) -> EndpointHandler {
        EndpointHandler(endpoint: endpoint(method, request, response, type: type), kind: Self.kind(type), body: .stream(stream))
    }

    private func endpoint<Request, Response>(_ method: MethodDescriptor, _: Request.Type, _: Response.Type,
                                             type: MethodDescriptor.RPCType) -> Endpoint {
        let path = GRPCMethodPath(method)
        let index = ProtoDescriptorIndex.bundled.adding(descriptorSets)
        return Endpoint(name: path.endpoint, request: index.shape(of: Request.self), response: index.shape(of: Response.self), metadata: [
            GRPCMethodPath.serviceKey: path.qualifiedService,
        ])
    }

    static func kind(_ type: MethodDescriptor.RPCType) -> EndpointKind {
        switch type {
        case .unary: .unary
        case .serverStreaming: .serverStreaming
        case .clientStreaming: .clientStreaming
        default: .bidirectionalStreaming
        }
    }

    /// Runs a handler; an `RPCError` it throws sets the gRPC status and becomes its MicroError.
    static func mappingRPCErrors<T>(_ context: HandlerContext, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            GRPCCallContext.current?.fail(with: error)
            throw MicroError(id: context.service, code: GRPCStatusMapping.microCode(for: error.code), detail: error.message)
        }
    }
}
