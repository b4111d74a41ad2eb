/// Verifies the publisher of every delivery before the subscriber runs: the message's
/// `Authorization` header is inspected and the rules applied to `topic:<topic>:Publish`. A refused
/// message is not handed to the subscriber (the delivery fails with 401 or 403). The token is taken
/// out of the headers the subscriber sees.
public struct AuthSubscriberWrapper: SubscriberWrapper {
    private let auth: any Auth

    /// A wrapper verifying with `auth`.
    public init(auth: any Auth) {
        self.auth = auth
    }

    public func handle(_ event: BrokerEvent, next: @Sendable (BrokerEvent) async throws -> Void) async throws {
        let account = try await auth.account(presenting: BearerToken.token(in: event.message.header))
        try await auth.authorize(account, Resource(type: Resource.topic, name: event.topic, endpoint: Resource.publishEndpoint))
        var event = event
        for key in event.message.header.keys where key.lowercased() == BearerToken.header {
            event.message.header[key] = nil
        }
        try await next(event)
    }
}
