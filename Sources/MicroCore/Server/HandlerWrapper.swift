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
