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
public struct AuthHandlerWrapper: CallGate, EndpointPreparingWrapper {
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
        try await Self.guarded(request, context, resource: Resource(type: Resource.service, name: context.service, endpoint: request.endpoint),
                               auth: auth, next)
    }

    /// The same check for what the transport answers itself (``BuiltinEndpoints`` names the resources).
    public func admit(_ request: RPCRequest, context: HandlerContext) async throws {
        _ = try await Self.verify(request, auth: auth, Resource(type: Resource.service, name: context.service, endpoint: request.endpoint))
    }

    /// The endpoint's resource made once.
    package func prepared(service: String, endpoint: String) -> any HandlerWrapper {
        Prepared(general: self, resource: Resource(type: Resource.service, name: service, endpoint: endpoint))
    }

    /// The wrapper for one endpoint, holding its resource; a call to another endpoint goes the general way.
    private struct Prepared: HandlerWrapper {
        let general: AuthHandlerWrapper
        let resource: Resource

        func handle(
            _ request: RPCRequest,
            context: HandlerContext,
            next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            guard request.endpoint == resource.endpoint, context.service == resource.name else {
                return try await general.handle(request, context: context, next: next)
            }
            return try await AuthHandlerWrapper.guarded(request, context, resource: resource, auth: general.auth, next)
        }
    }

    /// Verifies the call for `resource`, then runs `next` with the account and without the token.
    private static func guarded(
        _ request: RPCRequest, _ context: HandlerContext, resource: Resource, auth: any Auth,
        _ next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let (account, presented) = try await verify(request, auth: auth, resource)
        var request = request
        var context = context
        if presented {
            // One copy of the metadata without the token, shared by the request and the context (none
            // when the token was all there was).
            if request.metadata.count == 1 {
                request.metadata = Metadata()
            } else {
                request.metadata[BearerToken.header] = nil
            }
            context.metadata = request.metadata
        }
        context.account = account
        return try await next(request, context)
    }

    /// The caller's account, and whether a token was presented; throws unless the rules let it reach `resource`.
    private static func verify(_ request: RPCRequest, auth: any Auth, _ resource: Resource) async throws -> (Account?, presented: Bool) {
        let token = try BearerToken.token(in: request.metadata)
        var account = try await auth.account(presenting: token)
        if account == nil, let identity = request.peerIdentity { account = Account.certificate(identity) }
        try await auth.authorize(account, resource)
        return (account, token != nil)
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
