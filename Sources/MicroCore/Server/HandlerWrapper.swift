/// Middleware around every handler call (go-micro's `server.HandlerWrapper`): logging, metrics,
/// tracing, auth. A stream's call returns an empty response once the stream finished.
public protocol HandlerWrapper: Sendable {
    /// Handles the call, usually by calling `next` and acting before or after it.
    func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse
}

/// Middleware around every delivery to a subscriber.
public protocol SubscriberWrapper: Sendable {
    /// Handles the event, usually by calling `next`.
    func handle(_ event: BrokerEvent, next: @Sendable (BrokerEvent) async throws -> Void) async throws
}

/// A handler wrapper that sets up what it needs for one endpoint once, when the router first composes
/// that endpoint's unary chain, instead of looking it up on every call (metric handles, counters, the
/// resource auth checks). The router recomposes, and so prepares again, after any change of wrappers or handlers.
package protocol EndpointPreparingWrapper: HandlerWrapper {
    /// The wrapper to run for unary calls to `endpoint` of `service`; it must behave as this one does.
    func prepared(service: String, endpoint: String) -> any HandlerWrapper
}
