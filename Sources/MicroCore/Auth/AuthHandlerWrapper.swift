/// Verifies the caller before any handler runs (go-micro's server auth wrapper): reads the bearer
/// token, inspects it into an account, and applies the rules to `service:<name>:<endpoint>`.
///
/// The endpoint is the one the router resolved, so one rule for `Greeter.Hello` covers mucp over HTTP,
/// both gRPC paths and NATS alike (and `Debug.Health` is public only if a rule says so). As a
/// ``CallGate`` it also guards what transports answer themselves: HTTP `/health` (as `Debug.Health`),
/// gRPC health and reflection and `/metrics` (see ``BuiltinEndpoints``). A call without a token over
/// mutual TLS is the account of its verified client certificate (``Account/certificate(_:)``). A caller
/// without a valid token that the rules do not let in gets 401, a signed-in one 403; a token that is
/// sent but invalid is always 401. The handler sees the account in ``HandlerContext/account`` and not
/// the token: it is taken out of the metadata (the context's metadata is then the request's without it),
/// so onward calls carry the service's own token instead.
public struct AuthHandlerWrapper: CallGate {
    private let auth: any Auth

    /// A wrapper verifying with `auth`.
    public init(auth: any Auth) {
        self.auth = auth
    }

    public func handle(
        _ request: RPCRequest,
        context: HandlerContext,
        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let account = try await verify(request, context)
        var request = request
        var context = context
        if request.metadata[BearerToken.header] != nil {
            // One copy of the metadata without the token, shared by the request and the context.
            request.metadata[BearerToken.header] = nil
            context.metadata = request.metadata
        }
        context.account = account
        return try await next(request, context)
    }

    /// The same check for what the transport answers itself (``BuiltinEndpoints`` names the resources).
    public func admit(_ request: RPCRequest, context: HandlerContext) async throws {
        _ = try await verify(request, context)
    }

    private func verify(_ request: RPCRequest, _ context: HandlerContext) async throws -> Account? {
        var account = try await auth.account(presenting: BearerToken.token(in: request.metadata))
        if account == nil, let identity = request.peerIdentity { account = Account.certificate(identity) }
        try await auth.authorize(account, Resource(type: Resource.service, name: context.service, endpoint: request.endpoint))
        return account
    }
}

extension Auth {
    /// The account a presented token stands for: nil when none was presented; an invalid one throws 401.
    package func account(presenting token: String?) async throws -> Account? {
        guard let token else { return nil }
        do {
            return try await inspect(token)
        } catch let error as AuthError where error.code == .unavailable {
            throw error
        } catch let error as AuthError {
            throw AuthError(.invalidToken, error.detail)
        }
    }

    /// Throws 401 (no account) or 403 unless the rules grant `account` the resource.
    package func authorize(_ account: Account?, _ resource: Resource) async throws {
        guard try await rules().verify(account: account, resource: resource) == .denied else { return }
        if let account {
            throw AuthError(.forbidden, "account '\(account.id)' may not reach \(resource)")
        }
        throw AuthError(.unauthorized, "\(resource) needs a valid token")
    }
}
