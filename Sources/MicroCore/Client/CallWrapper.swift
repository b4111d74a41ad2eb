/// Middleware around every unary call a client makes (go-micro's `client.Wrapper`).
public protocol CallWrapper: Sendable {
    /// Makes the call, usually by calling `next` and acting before or after it.
    func call(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> RPCResponse) async throws -> RPCResponse
}

/// Middleware around every publish.
public protocol PublishWrapper: Sendable {
    /// Publishes, usually by calling `next`.
    func publish(_ topic: String, _ message: BrokerMessage, next: @Sendable (String, BrokerMessage) async throws -> Void) async throws
}
