import NIOCore

/// The caller's side of a transport (go-micro's `transport` plus `client` protocol): sends calls
/// to a node's address and opens streams. It is an ``Engine``: ``Engine/shutdown()`` closes its pooled
/// connections.
public protocol ClientTransport: Engine {
    /// The protocol name this transport speaks, as node metadata `protocol` names it (`mucp`, `grpc`).
    var protocolName: String { get }
    /// Sends a unary call; throws ``MicroError`` for the handler's errors and ``TransportError`` for the transport's.
    func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse
    /// Opens a stream (client, server or bidirectional).
    func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel
}

/// What a server transport hands each call to: the server's router. Transports learn what it serves
/// from ``serverDescription`` and how it is from ``health()``, never from its concrete type.
public protocol RPCHandler: Sendable {
    /// The endpoints served, with their kinds, and transport-specific extensions.
    var serverDescription: ServerDescription { get }
    /// Whether the server is serving, for a transport's own health checks (`/health`, `grpc.health.v1`).
    func health() async -> HealthStatus
    /// Answers a unary call.
    func handle(_ request: RPCRequest) async -> Result<RPCResponse, MicroError>
    /// Serves a stream: reads from `inbound`, writes to `outbound`; returns when the handler is done.
    func handleStream(_ request: RPCRequest, inbound: MessageReader, outbound: MessageWriter) async -> MicroError?
    /// Checks a call the transport answers itself (health, reflection, `/metrics`) as routed calls are
    /// checked, with `request.endpoint` naming the resource (``BuiltinEndpoints``); nil when it may go on.
    func admit(_ request: RPCRequest) async -> MicroError?
}

extension RPCHandler {
    /// Admits everything: a handler without gates.
    public func admit(_ request: RPCRequest) async -> MicroError? { nil }
}

/// The serving side of a transport.
public protocol ServerTransport: Sendable {
    /// The protocol name advertised in node metadata.
    var protocolName: String { get }
    /// Binds `address` (`host:port`, port 0 for any free one) and starts accepting calls for `handler`.
    func listen(on address: String, handler: any RPCHandler) async throws -> any TransportListener
}

/// A bound server transport.
public protocol TransportListener: Sendable {
    /// The bound address, `host:port`.
    var address: String { get }
    /// Serves until ``shutdown(gracePeriod:)`` completes.
    func run() async throws
    /// Stops accepting, lets calls in flight finish for up to `gracePeriod`, then closes everything.
    func shutdown(gracePeriod: Duration) async
    /// Connections open to it now (for `Debug.Stats`); nil when the transport does not count them.
    var openConnections: Int? { get }
}

extension TransportListener {
    /// Not counted.
    public var openConnections: Int? { nil }
}

extension RPCHandler {
    /// A handler that lists nothing and answers any endpoint (a proxy, a test double).
    public var serverDescription: ServerDescription { ServerDescription(service: "", acceptsUnlistedEndpoints: true) }
    /// Always serving.
    public func health() async -> HealthStatus { .serving }
}
