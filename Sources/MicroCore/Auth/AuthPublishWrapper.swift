/// Attaches the service's token to every message it publishes, so subscribers behind
/// ``AuthSubscriberWrapper`` can verify the publisher.
public struct AuthPublishWrapper: PublishWrapper {
    private let credentials: ServiceCredentials

    /// A wrapper sending `credentials`' token.
    public init(credentials: ServiceCredentials) {
        self.credentials = credentials
    }

    public func publish(_ topic: String, _ message: BrokerMessage, next: @Sendable (String, BrokerMessage) async throws -> Void) async throws {
        guard message.header("Authorization") == nil, let value = credentials.authorization else {
            return try await next(topic, message)
        }
        var message = message
        message.header["Authorization"] = value
        try await next(topic, message)
    }
}
