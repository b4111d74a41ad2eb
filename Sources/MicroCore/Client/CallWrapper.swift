/// Middleware around every call a client makes (go-micro's `client.Wrapper`): unary calls, and
/// the opening of streams.
public protocol CallWrapper: Sendable {
    /// Makes the call, usually by calling `next` and acting before or after it.
    func call(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> RPCResponse) async throws -> RPCResponse
    /// Opens a stream, usually by calling `next` (e.g. after adding metadata); by default it just calls `next`.
    func openStream(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> any ClientStreamChannel) async throws -> any ClientStreamChannel
}

extension CallWrapper {
    public func openStream(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> any ClientStreamChannel) async throws -> any ClientStreamChannel {
        try await next(request)
    }
}

/// Middleware around every publish.
public protocol PublishWrapper: Sendable {
    /// Publishes, usually by calling `next`.
    func publish(_ topic: String, _ message: BrokerMessage, next: @Sendable (String, BrokerMessage) async throws -> Void) async throws
}
