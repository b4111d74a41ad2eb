import Foundation
import Synchronization

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

    /// The endpoint's resource made once, and with a ``HoldingAuth`` the endpoint's rules worked out
    /// once per set of rules.
    package func prepared(service: String, endpoint: String) -> any HandlerWrapper {
        Prepared(general: self, resource: Resource(type: Resource.service, name: service, endpoint: endpoint),
                 holding: auth as? any HoldingAuth, rules: EndpointRulesBox())
    }

    /// The wrapper for one endpoint, holding its resource; a call to another endpoint goes the general way.
    private struct Prepared: HandlerWrapper {
        let general: AuthHandlerWrapper
        let resource: Resource
        let holding: (any HoldingAuth)?
        let rules: EndpointRulesBox

        func handle(
            _ request: RPCRequest,
            context: HandlerContext,
            next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            guard request.endpoint == resource.endpoint, context.service == resource.name else {
                return try await general.handle(request, context: context, next: next)
            }
            // A token verified before and rules held need no waiting: no suspension point but `next`.
            if let holding, let admitted = try admitNow(request, context, holding) {
                return try await next(admitted.request, admitted.context)
            }
            return try await AuthHandlerWrapper.guarded(request, context, resource: resource, auth: general.auth, next)
        }

        /// The call as the handler gets it when the auth can decide from what it holds; nil when it has
        /// to inspect the token or read the rules. Throws as ``AuthHandlerWrapper/guarded`` would.
        private func admitNow(_ request: RPCRequest, _ context: HandlerContext, _ holding: any HoldingAuth) throws
            -> (request: RPCRequest, context: HandlerContext)? {
            guard let ruleSet = holding.heldRules() else { return nil }
            let account: Account?
            let value = request.metadata[lowercased: BearerToken.header]
            if let value {
                // Anything but a token verified before (malformed ones included) goes the general way.
                guard let token = BearerToken.presented(value), let verified = holding.verifiedAccount(token: token, now: Date()) else {
                    return nil
                }
                account = verified
            } else {
                account = request.peerIdentity.map(Account.certificate)
            }
            let access = rules.rules(of: ruleSet, for: resource).verify(account: account)
            if access == .denied { throw AuthError.denied(account, resource) }
            return AuthHandlerWrapper.admitted(request, context, account: account, presented: value != nil)
        }
    }

    /// One endpoint's rules, worked out again when the auth's rules are another set.
    private final class EndpointRulesBox: Sendable {
        private let current = Mutex<RuleSet.EndpointRules?>(nil)

        func rules(of set: RuleSet, for resource: Resource) -> RuleSet.EndpointRules {
            if let kept = current.withLock({ $0 }), kept.serial == set.serial { return kept }
            let made = set.rules(for: resource)
            current.withLock { $0 = made }
            return made
        }
    }

    /// Verifies the call for `resource`, then runs `next` with the account and without the token.
    private static func guarded(
        _ request: RPCRequest, _ context: HandlerContext, resource: Resource, auth: any Auth,
        _ next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse {
        let (account, presented) = try await verify(request, auth: auth, resource)
        let admitted = admitted(request, context, account: account, presented: presented)
        return try await next(admitted.request, admitted.context)
    }

    /// The call as the handler gets it: with the account and without the token.
    private static func admitted(_ request: RPCRequest, _ context: HandlerContext, account: Account?, presented: Bool)
        -> (request: RPCRequest, context: HandlerContext) {
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
        return (request, context)
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
        throw AuthError.denied(account, resource)
    }
}

extension AuthError {
    /// The rules denied `account` the resource: 401 without an account, 403 with one.
    package static func denied(_ account: Account?, _ resource: Resource) -> AuthError {
        if let account {
            return AuthError(.forbidden, "account '\(account.id)' may not reach \(resource)")
        }
        return AuthError(.unauthorized, "\(resource) needs a valid token")
    }
}
