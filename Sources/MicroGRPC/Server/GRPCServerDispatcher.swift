import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import MicroCore
import NIOConcurrencyHelpers
import NIOCore

typealias GRPCBytes = GRPCNIOTransportBytes

/// A method the transport serves itself (health, reflection): messages in, messages out, decoded
/// with the call's codec. Throwing an `RPCError` ends the call with exactly that status.
struct GRPCBuiltinMethod: Sendable {
    var type: MethodDescriptor.RPCType
    var run: @Sendable (_ inbound: MessageReader, _ outbound: MessageWriter, _ codec: any Codec) async throws -> Void
}

/// A service the transport serves itself.
protocol GRPCBuiltinService: Sendable {
    /// The fully qualified service name, e.g. `grpc.health.v1.Health`.
    var name: String { get }
    /// Its methods by name.
    var methods: [String: GRPCBuiltinMethod] { get }
}

/// Turns each gRPC stream grpc-swift's HTTP/2 transport accepts into a call on the router: finds
/// the endpoint by path, reads the request metadata (content type, deadline, caller metadata), runs
/// the handler bounded by the deadline and the caller's cancellation, and writes headers, messages
/// and a status mapped from the outcome.
final class GRPCServerDispatcher: Sendable {
    typealias Inbound = RPCAsyncSequence<RPCRequestPart<GRPCBytes>, any Error>
    typealias Outbound = RPCWriter<RPCResponsePart<GRPCBytes>>.Closable

    enum Target: Sendable {
        case endpoint(String, stream: Bool)
        /// A method the transport serves itself, and its resource endpoint for rules (``BuiltinEndpoints``).
        case builtin(GRPCBuiltinMethod, endpoint: String)
    }

    struct Route: Sendable {
        var target: Target
        var type: MethodDescriptor.RPCType?
    }

    private struct Table {
        var routes: [String: [String: Route]] = [:]
        var refreshed = NIODeadline.uptimeNanoseconds(0)
        var endpointCount = 0
    }

    let handler: any RPCHandler
    /// Whether the handler answers endpoints it does not list (then any path is passed through as a stream).
    let passesUnlisted: Bool
    let serviceName: String
    let configuration: GRPCServerConfiguration
    let logger: Logger
    /// The open streams' gates, which hold writers back while a stream is not writable.
    let gates: GRPCStreamGates
    private let table = NIOLockedValueBox(Table())
    private let builtins = NIOLockedValueBox<[any GRPCBuiltinService]>([])
    private let draining = NIOLockedValueBox(false)
    /// The calls' deadlines (kept running by the listener's `run`).
    let deadlines = GRPCDeadlines()
    /// Timeout answers sent while a handler is still stopping (ended with the listener's `run`).
    let answers = OwnedTasks()
    private static let builtinCodecs = Codecs([ProtobufCodec(), JSONCodec()])

    init(handler: any RPCHandler, serviceName: String?, configuration: GRPCServerConfiguration,
         gates: GRPCStreamGates = GRPCStreamGates(), logger: Logger) {
        self.handler = handler
        self.gates = gates
        let description = handler.serverDescription
        self.passesUnlisted = description.acceptsUnlistedEndpoints
        self.serviceName = serviceName ?? description.service
        self.configuration = configuration
        self.logger = logger
    }

    /// Adds the transport's own services (before listening).
    func addBuiltin(_ service: any GRPCBuiltinService) {
        builtins.withLockedValue { $0.append(service) }
    }

    /// True once shutdown began (health answers NOT_SERVING, Watch streams end).
    var isDraining: Bool { draining.withLockedValue { $0 } }

    func beginDraining() { draining.withLockedValue { $0 = true } }

    // MARK: Routing

    /// Rebuilds the path table from the router's endpoints; returns every method, for grpc-swift's
    /// transport (which then flushes unary calls' answers at once).
    @discardableResult
    func refreshRoutes() -> [MethodDescriptor] {
        var routes: [String: [String: Route]] = [:]
        func add(_ service: String, _ method: String, _ route: Route) { routes[service, default: [:]][method] = route }
        let endpoints = handler.serverDescription.endpoints
        for endpoint in endpoints {
            guard let dot = endpoint.name.lastIndex(of: "."), dot != endpoint.name.startIndex,
                  endpoint.name.index(after: dot) != endpoint.name.endIndex else { continue }
            let service = String(endpoint.name[..<dot])
            let method = String(endpoint.name[endpoint.name.index(after: dot)...])
            let stream = endpoint.kind.isStreaming
            let type = Self.rpcType(endpoint.kind)
            let route = Route(target: .endpoint(endpoint.name, stream: stream), type: type)
            if !serviceName.isEmpty { add("\(serviceName).\(service)", method, route) }
            if let full = endpoint.metadata[GRPCMethodPath.serviceKey], !full.isEmpty { add(full, method, route) }
        }
        for service in builtins.withLockedValue({ $0 }) {
            for (name, method) in service.methods {
                let endpoint = BuiltinEndpoints.grpc(service: service.name, method: name)
                add(service.name, name, Route(target: .builtin(method, endpoint: endpoint), type: method.type))
            }
        }
        let now = NIODeadline.now()
        table.withLockedValue { $0 = Table(routes: routes, refreshed: now, endpointCount: endpoints.count) }
        return routes.flatMap { service, methods in
            methods.map { MethodDescriptor(fullyQualifiedService: service, method: $0.key, type: $0.value.type) }
        }
    }

    /// The gRPC method type of an endpoint kind.
    static func rpcType(_ kind: EndpointKind) -> MethodDescriptor.RPCType {
        switch kind {
        case .unary: .unary
        case .serverStreaming: .serverStreaming
        case .clientStreaming: .clientStreaming
        case .bidirectionalStreaming: .bidirectionalStreaming
        }
    }

    /// The services answering, by fully qualified name (aliases included).
    var servedServices: Set<String> { Set(table.withLockedValue { $0.routes.keys }) }

    func route(_ descriptor: MethodDescriptor) -> Route? {
        let service = descriptor.service.fullyQualifiedService
        if let route = table.withLockedValue({ $0.routes[service]?[descriptor.method] }) { return route }
        if passesUnlisted {
            // A handler that answers what it does not list: `/<anything>.<Service>/<Method>` is endpoint
            // `Service.Method`, served as a stream.
            let short = service.split(separator: ".").last.map(String.init) ?? service
            return Route(target: .endpoint("\(short).\(descriptor.method)", stream: true), type: nil)
        }
        // An endpoint registered after listening: look again when the handler lists more endpoints than
        // the table knows (or it is a second old).
        let (known, refreshed) = table.withLockedValue { ($0.endpointCount, $0.refreshed) }
        guard handler.serverDescription.endpoints.count != known || NIODeadline.now() - refreshed > .seconds(1) else { return nil }
        refreshRoutes()
        return table.withLockedValue { $0.routes[service]?[descriptor.method] }
    }

    // MARK: Calls

    /// Serves one stream from start to status.
    func handle(stream: RPCStream<Inbound, Outbound>, context: ServerContext) async {
        let inbound = InboundMessages(stream.inbound)
        let outbound = stream.outbound
        let headers: GRPCCore.Metadata
        do {
            guard case .metadata(let m)? = try await inbound.nextPart() else {
                throw RPCError(code: .internalError, message: "the stream did not start with metadata")
            }
            headers = m
        } catch {
            try? await outbound.write(.status(Status(code: .internalError, message: "no request metadata"), [:]))
            await outbound.finish()
            return
        }
        let descriptor = stream.descriptor
        guard let route = route(descriptor) else {
            let service = descriptor.service.fullyQualifiedService
            let known = table.withLockedValue { $0.routes[service] != nil }
            let message = known ? "unknown method \(descriptor.method) for service \(service)" : "unknown service \(service)"
            try? await outbound.write(.status(Status(code: .unimplemented, message: message), [:]))
            await outbound.finish()
            return
        }

        var request = makeRequest(headers)
        request.peerIdentity = GRPCPeerIdentity.of(context.transportSpecific)
        var requestMetadata = headers
        let gate = requestMetadata[stringValues: GRPCStreamGates.header].first { _ in true }.flatMap(gates.gate(named:))
        if gate != nil { requestMetadata.removeAllValues(forKey: GRPCStreamGates.header) }
        let call = GRPCCallContext(path: "/" + descriptor.fullyQualifiedMethod, remotePeer: context.remotePeer,
                                   localPeer: context.localPeer, requestMetadata: requestMetadata,
                                   transportSpecific: context.transportSpecific)
        let writer = ResponseWriter(outbound: outbound, call: call, maxMessageSize: configuration.maxResponseMessageSize, id: serviceName,
                                    gate: gate)
        let serviceName = self.serviceName
        let timeout: @Sendable () -> (Status, GRPCCore.Metadata) = {
            GRPCStatusMapping.status(for: .timeout(serviceName, "deadline exceeded"))
        }
        // The call runs inline on this task; the deadline and the caller's reset cancel this task
        // (grpc-swift only flags them) through the canceller, which is closed before answering.
        let canceller = GRPCCallCanceller()
        let timer = request.deadline.map { deadline in
            deadlines.add(deadline) {
                guard canceller.cancel(.deadline) else { return }
                // Answer at once, even if the handler takes its time to stop.
                self.answers.spawn {
                    let (status, trailers) = timeout()
                    await writer.finish(status, trailers)
                }
            }
        }
        let (status, trailers) = await withRPCCancellationHandler {
            await GRPCCallContext.$current.withValue(call) { await self.run(route, request, inbound, writer, call) }
        } onCancelRPC: {
            // grpc-swift also cancels every RPC when graceful shutdown starts: calls then go on for
            // the shutdown's grace period.
            guard !self.isDraining else { return }
            canceller.cancel(.cancelled)
        }
        if let timer { deadlines.remove(timer) }
        switch canceller.end() {
        case .deadline?:
            // This task is cancelled now, and a cancelled task's writes may fail: answer from a new one.
            await Task {
                let (status, trailers) = timeout()
                await writer.finish(status, trailers)
            }.value
        case .cancelled?:
            await writer.abandon()
        case nil:
            await writer.finish(status, trailers)
        }
    }

    /// The request a stream's headers describe (endpoint filled in by the route).
    private func makeRequest(_ headers: GRPCCore.Metadata) -> RPCRequest {
        var metadata = MicroCore.Metadata()
        var subtype = ""
        var deadline: NIODeadline?
        var goMicroTimeout: String?
        var id = ""
        for (key, value) in headers {
            if key.hasPrefix(":") { continue }
            switch key {
            case "content-type", "te", "grpc-encoding", "grpc-accept-encoding", "x-content-type", GRPCStreamGates.header:
                continue
            case GRPCContentType.subtypeHeader:
                if case .string(let s) = value { subtype = s }
                continue
            case "grpc-timeout":
                if case .string(let s) = value { deadline = GRPCTimeout.deadline(s) }
                continue
            case "timeout":
                if case .string(let s) = value { goMicroTimeout = s }
                continue
            case "micro-id":
                if case .string(let s) = value { id = s }
            default: break
            }
            switch value {
            case .string(let s): metadata[key] = metadata[key].map { "\($0), \(s)" } ?? s
            case .binary(let b): metadata[key] = Data(b).base64EncodedString()
            }
        }
        if deadline == nil, let t = goMicroTimeout, let ns = Int64(t), ns > 0 { deadline = .now() + .nanoseconds(ns) }
        return RPCRequest(service: serviceName, endpoint: "", contentType: GRPCContentType.codecContentType(subtype: subtype),
                          metadata: metadata, deadline: deadline, id: id, isStream: false)
    }

    private func run(_ route: Route, _ request: RPCRequest, _ inbound: InboundMessages, _ writer: ResponseWriter,
                     _ call: GRPCCallContext) async -> (Status, GRPCCore.Metadata) {
        switch route.target {
        case .endpoint(let endpoint, let stream) where !stream && !passesUnlisted:
            var req = request
            req.endpoint = endpoint
            do { req.body = try await inbound.single() } catch { return failure(error, call) }
            switch await handler.handle(req) {
            case .success(let response):
                do {
                    for (k, v) in response.metadata { call.addHeader(v, forKey: k) }
                    try await writer.send(response.body)
                } catch { return failure(error, call) }
                return (Status(code: .ok, message: ""), call.trailers)
            case .failure(let error):
                return failure(error, call)
            }
        case .endpoint(let endpoint, _):
            var req = request
            req.endpoint = endpoint
            req.isStream = true
            if let error = await handler.handleStream(req, inbound: inbound.reader, outbound: writer.messageWriter) {
                return failure(error, call)
            }
            do { try await writer.sendHeadersIfPending() } catch { return failure(error, call) }
            return (Status(code: .ok, message: ""), call.trailers)
        case .builtin(let method, let endpoint):
            var req = request
            req.endpoint = endpoint
            if let refused = await handler.admit(req) { return failure(refused, call) }
            do {
                let codec = try Self.builtinCodecs.codec(for: request.contentType)
                try await method.run(inbound.reader, writer.messageWriter, codec)
                try await writer.sendHeadersIfPending()
                return (Status(code: .ok, message: ""), call.trailers)
            } catch {
                return failure(error, call)
            }
        }
    }

    /// The status for a failure: an `RPCError` as it is, anything else as its MicroError (a call cut
    /// short by shutdown is unavailable, so the caller may try another node).
    private func failure(_ error: any Error, _ call: GRPCCallContext) -> (Status, GRPCCore.Metadata) {
        if Task.isCancelled, isDraining {
            return GRPCStatusMapping.status(for: .unavailable(serviceName, "the server is shutting down"))
        }
        var trailers = call.trailers
        if let rpc = error as? RPCError {
            trailers.add(contentsOf: rpc.metadata)
            return (Status(code: Status.Code(rpc.code), message: rpc.message), trailers)
        }
        let micro = MicroError.from(error, id: serviceName)
        if let override = call.statusOverride {
            trailers.add(contentsOf: override.metadata)
            return GRPCStatusMapping.status(for: micro, code: override.code, message: override.message, metadata: trailers)
        }
        return GRPCStatusMapping.status(for: micro, code: GRPCStatusMapping.code(for: micro), message: micro.json, metadata: trailers)
    }
}

/// A stream's inbound parts, read by one task at a time (the dispatcher, then the handler).
final class InboundMessages: @unchecked Sendable {
    // Safety: a stream has one reader at a time; the lock only guards against misuse.
    private var iterator: GRPCServerDispatcher.Inbound.AsyncIterator

    init(_ inbound: GRPCServerDispatcher.Inbound) { iterator = inbound.makeAsyncIterator() }

    func nextPart() async throws -> RPCRequestPart<GRPCBytes>? { try await iterator.next() }

    /// The next message; nil at the end of the stream.
    func nextMessage() async throws -> ByteBuffer? {
        switch try await iterator.next() {
        case .message(let bytes)?: return bytes.withUnsafeBytes { ByteBuffer(bytes: $0) }
        case .metadata?: throw RPCError(code: .internalError, message: "metadata sent twice on one stream")
        case nil: return nil
        }
    }

    /// Exactly one message (a unary request).
    func single() async throws -> ByteBuffer {
        guard let first = try await nextMessage() else {
            throw RPCError(code: .unimplemented, message: "a unary method needs exactly one request message; got none")
        }
        guard try await nextMessage() == nil else {
            throw RPCError(code: .unimplemented, message: "a unary method needs exactly one request message; got more")
        }
        return first
    }

    var reader: MessageReader { MessageReader { try await self.nextMessage() } }
}

/// Writes a call's answer in order: headers (once, before the first message), messages, status.
/// Messages go at the pace the stream takes them: past a fence's worth, `send` waits at the
/// stream's gate while the stream is not writable.
final class ResponseWriter: Sendable {
    let outbound: GRPCServerDispatcher.Outbound
    let call: GRPCCallContext
    let maxMessageSize: Int
    let id: String
    let gate: GRPCStreamGate?
    private let closed = NIOLockedValueBox(false)

    init(outbound: GRPCServerDispatcher.Outbound, call: GRPCCallContext, maxMessageSize: Int, id: String, gate: GRPCStreamGate? = nil) {
        self.outbound = outbound
        self.call = call
        self.maxMessageSize = maxMessageSize
        self.id = id
        self.gate = gate
    }

    func send(_ message: ByteBuffer) async throws {
        guard message.readableBytes <= maxMessageSize else {
            throw MicroError.tooLarge(id, "response message of \(message.readableBytes) bytes exceeds the limit of \(maxMessageSize)")
        }
        guard !closed.withLockedValue({ $0 }) else { throw CancellationError() }
        if let headers = call.takeHeaders() { try await outbound.write(.metadata(headers)) }
        try await outbound.write(.message(GRPCBytes(message.readableBytesView)))
        try await gate?.wrote(bytes: message.readableBytes)
    }

    func sendHeadersIfPending() async throws {
        guard call.headersPending, let headers = call.takeHeaders() else { return }
        try await outbound.write(.metadata(headers))
    }

    var messageWriter: MessageWriter { MessageWriter { try await self.send($0) } }

    /// Ends the call with a status (once; later calls do nothing).
    func finish(_ status: Status, _ trailers: GRPCCore.Metadata) async {
        guard closeOnce() else { return }
        try? await outbound.write(.status(status, trailers))
        await outbound.finish()
    }

    /// Closes without a status (the caller is gone).
    func abandon() async {
        guard closeOnce() else { return }
        await outbound.finish()
    }

    private func closeOnce() -> Bool {
        closed.withLockedValue { c in
            defer { c = true }
            return !c
        }
    }
}
