/// Attaches the service's token to every outgoing call (go-micro's client auth wrapper), unless the
/// call carries an `Authorization` of its own (a CLI user's, say).
public struct AuthCallWrapper: CallWrapper {
    private let credentials: ServiceCredentials

    /// A wrapper sending `credentials`' token.
    public init(credentials: ServiceCredentials) {
        self.credentials = credentials
    }

    public func call(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> RPCResponse) async throws -> RPCResponse {
        try await next(attaching(request))
    }

    public func openStream(_ request: RPCRequest, next: @Sendable (RPCRequest) async throws -> any ClientStreamChannel) async throws -> any ClientStreamChannel {
        try await next(attaching(request))
    }

    private func attaching(_ request: RPCRequest) -> RPCRequest {
        guard request.metadata[BearerToken.header] == nil, let value = credentials.authorization else { return request }
        var request = request
        request.metadata[BearerToken.header] = value
        return request
    }
}
