import Foundation
import MicroCore

/// The auth service (go-micro's `go.micro.auth`) over a ``JWTAuth``: `Auth.Generate`, `Auth.Inspect`,
/// `Auth.Token`, `Rules.Create`, `Rules.Delete`, `Rules.List`, `Accounts.List`, `Accounts.Delete`, and
/// `Auth.Keys` (the JWK Set ``RemoteAuth`` verifies tokens with), in go-micro's proto3 JSON shapes.
///
/// The service guards itself, whatever rules the auth holds: `Auth.Token`, `Auth.Inspect`, `Auth.Keys`
/// and `Rules.List` answer anyone (signing in, verifying, and the rules every service enforces);
/// everything that creates or deletes accounts or rules, and listing accounts, needs a token of an
/// account holding ``adminScope``. ``bootstrap(adminSecret:)`` makes the first such account.
public struct AuthHandler: EndpointGroup {
    /// The name ``RemoteAuth`` and go-micro's auth clients call: `go.micro.auth`.
    public static let serviceName = "go.micro.auth"
    /// The scope an account needs to manage accounts and rules.
    public static let adminScope = "admin"
    /// The id of the account ``bootstrap(adminSecret:)`` makes.
    public static let adminAccount = "admin"
    /// The longest secret or refresh token a `Auth.Token` request may carry, in bytes.
    static let maxCredentialLength = 1024

    /// The auth served.
    public let auth: JWTAuth

    /// A handler serving `auth`.
    public init(auth: JWTAuth) {
        self.auth = auth
    }

    /// Makes the ``adminAccount`` (scope ``adminScope``) when the auth has no account at all, with
    /// `adminSecret` or a random secret; returns it with its secret (shown this once), or nil when
    /// accounts exist already.
    public func bootstrap(adminSecret: String?) async throws -> Account? {
        guard try await auth.accounts().isEmpty else { return nil }
        return try await auth.generate(Self.adminAccount, options: AccountOptions(type: .user, scopes: [Self.adminScope], secret: adminSecret))
    }

    public func registerEndpoints(on router: Router) {
        let handler = self
        router.handle("Auth.Generate", blocking: true) { (request: AuthWire.GenerateRequest, context) in
            try await handler.generate(request, context)
        }
        router.handle("Auth.Inspect") { (request: AuthWire.InspectRequest, _) in
            try handler.checkNamespace(request.options)
            let account = try await handler.auth.inspect(request.token ?? "")
            return AuthWire.InspectResponse(account: AuthWire.Account(account))
        }
        // Signing in hashes the secret with scrypt: off the event loop.
        router.handle("Auth.Token", blocking: true) { (request: AuthWire.TokenRequest, _) in
            try await handler.token(request)
        }
        router.handle("Auth.Keys") { (_: AuthWire.ListRequest, _) in
            try await handler.auth.keySet()
        }
        router.handle("Rules.Create") { (request: AuthWire.CreateRequest, context) in
            try await handler.requireAdmin(context, request.options)
            guard let rule = request.rule else { throw AuthError(.invalidArgument, "no rule given") }
            try await handler.auth.grant(try rule.rule())
            return AuthWire.Empty()
        }
        router.handle("Rules.Delete") { (request: AuthWire.DeleteRequest, context) in
            try await handler.requireAdmin(context, request.options)
            try await handler.auth.revoke(request.id ?? "")
            return AuthWire.Empty()
        }
        router.handle("Rules.List") { (request: AuthWire.ListRequest, _) in
            try handler.checkNamespace(request.options)
            return AuthWire.ListResponse(rules: try await handler.auth.rules().rules.map(AuthWire.Rule.init))
        }
        router.handle("Accounts.List") { (request: AuthWire.ListRequest, context) in
            try await handler.requireAdmin(context, request.options)
            return AuthWire.ListAccountsResponse(accounts: try await handler.auth.accounts().map { AuthWire.Account($0.withoutSecret) })
        }
        router.handle("Accounts.Delete") { (request: AuthWire.DeleteRequest, context) in
            try await handler.requireAdmin(context, request.options)
            try await handler.auth.deleteAccount(request.id ?? "")
            return AuthWire.Empty()
        }
    }

    // MARK: Endpoints

    func generate(_ request: AuthWire.GenerateRequest, _ context: HandlerContext) async throws -> AuthWire.GenerateResponse {
        try await requireAdmin(context, request.options)
        guard let type = AccountType(rawValue: request.type.flatMap { $0.isEmpty ? nil : $0 } ?? AccountType.user.rawValue) else {
            throw AuthError(.invalidArgument, "an account's type is user or service")
        }
        let options = AccountOptions(type: type, scopes: request.scopes ?? [], metadata: request.metadata ?? [:],
                                     secret: request.secret.flatMap { $0.isEmpty ? nil : $0 })
        return AuthWire.GenerateResponse(account: AuthWire.Account(try await auth.generate(request.id ?? "", options: options)))
    }

    func token(_ request: AuthWire.TokenRequest) async throws -> AuthWire.TokenResponse {
        try checkNamespace(request.options)
        let id = request.id ?? "", secret = request.secret ?? "", refresh = request.refreshToken ?? ""
        guard id.utf8.count <= JWTAuth.maxNameLength, secret.utf8.count <= Self.maxCredentialLength,
              refresh.utf8.count <= Self.maxCredentialLength else {
            throw AuthError(.invalidCredentials, "the credentials are longer than any valid ones")
        }
        let token: AuthToken
        if !refresh.isEmpty {
            token = try await auth.token(.refresh(refresh))
        } else if !id.isEmpty, !secret.isEmpty {
            token = try await auth.token(.credentials(id: id, secret: secret))
        } else {
            throw AuthError(.invalidCredentials, "give an id and a secret, or a refresh token")
        }
        return AuthWire.TokenResponse(token: AuthWire.Token(token))
    }

    /// Throws 401 without a valid token, 403 when its account does not hold ``adminScope``.
    func requireAdmin(_ context: HandlerContext, _ options: AuthWire.Options?) async throws {
        try checkNamespace(options)
        guard let account = try await auth.account(presenting: try BearerToken.token(in: context.metadata)) else {
            throw AuthError(.unauthorized, "\(context.endpoint) needs the token of an account with scope '\(Self.adminScope)'")
        }
        guard account.scopes.contains(Self.adminScope) else {
            throw AuthError(.forbidden, "account '\(account.id)' may not call \(context.endpoint): it lacks scope '\(Self.adminScope)'")
        }
    }

    /// go-micro's namespace is the issuer: empty or this auth's.
    func checkNamespace(_ options: AuthWire.Options?) throws {
        if let namespace = options?.namespace, !namespace.isEmpty, namespace != auth.configuration.issuer {
            throw AuthError(.invalidArgument, "this auth service serves namespace '\(auth.configuration.issuer)', not '\(namespace)'")
        }
    }
}
