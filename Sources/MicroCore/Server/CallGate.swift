/// A handler wrapper whose check also guards what a transport answers itself, outside the router:
/// gRPC health and reflection, HTTP `/health` and extra `GET` paths (`/metrics`). The router runs its
/// gates, in wrapper order, for such calls through ``RPCHandler/admit(_:)``; ``AuthHandlerWrapper`` is one.
public protocol CallGate: HandlerWrapper {
    /// Throws (a ``MicroErrorConvertible`` error, say 401 or 403) unless the call may go on.
    func admit(_ request: RPCRequest, context: HandlerContext) async throws
}
