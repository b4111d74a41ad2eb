import Foundation
import MicroCore

/// The auth service's messages: go-micro's `go.micro.auth` shapes (`auth/service/proto/auth.proto`) in
/// proto3 JSON names, every field optional as proto3 leaves defaults out, plus `Auth.Keys` (the JWK Set).
/// What ``AuthHandler`` and ``RemoteAuth`` share.
enum AuthWire {
    struct Options: Codable, Sendable { var namespace: String? }

    struct Account: Codable, Sendable {
        var id: String?
        var type: String?
        var metadata: [String: String]?
        var scopes: [String]?
        var issuer: String?
        var secret: String?

        init(_ account: MicroCore.Account) {
            id = account.id
            type = account.type.rawValue
            metadata = account.metadata
            scopes = account.scopes
            issuer = account.issuer
            secret = account.secret
        }

        func account() throws(AuthError) -> MicroCore.Account {
            guard let id, !id.isEmpty else { throw AuthError(.unavailable, "the auth service answered an account without an id") }
            return MicroCore.Account(id: id, type: AccountType(rawValue: type ?? "") ?? .user, issuer: issuer ?? "",
                                     metadata: metadata ?? [:], scopes: scopes ?? [], secret: secret)
        }
    }

    /// go-micro's token: times in seconds since 1970.
    struct Token: Codable, Sendable {
        var accessToken: String?
        var refreshToken: String?
        var created: Int64?
        var expiry: Int64?

        init(_ token: AuthToken) {
            accessToken = token.accessToken
            refreshToken = token.refreshToken
            created = Int64(token.created.timeIntervalSince1970.rounded(.down))
            expiry = Int64(token.expiry.timeIntervalSince1970.rounded(.down))
        }

        func token() throws(AuthError) -> AuthToken {
            guard let accessToken, !accessToken.isEmpty, let created, let expiry else {
                throw AuthError(.unavailable, "the auth service answered an incomplete token")
            }
            return AuthToken(accessToken: accessToken, refreshToken: refreshToken ?? "", created: Date(timeIntervalSince1970: TimeInterval(created)),
                             expiry: Date(timeIntervalSince1970: TimeInterval(expiry)))
        }
    }

    struct Resource: Codable, Sendable {
        var name: String?
        var type: String?
        var endpoint: String?
    }

    /// go-micro's `Access` enum, as its name (`GRANTED`, `DENIED`) or number (1, 2).
    struct Access: Codable, Sendable {
        var value: RuleAccess?

        init(_ value: RuleAccess) { self.value = value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                value = number == 1 ? .granted : number == 2 ? .denied : nil
            } else {
                let name = try container.decode(String.self)
                value = name == "GRANTED" ? .granted : name == "DENIED" ? .denied : nil
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(value == .granted ? "GRANTED" : value == .denied ? "DENIED" : "UNKNOWN")
        }
    }

    struct Rule: Codable, Sendable {
        var id: String?
        var scope: String?
        var resource: Resource?
        var access: Access?
        var priority: Int32?

        init(_ rule: MicroCore.Rule) {
            id = rule.id
            scope = rule.scope
            resource = Resource(name: rule.resource.name, type: rule.resource.type, endpoint: rule.resource.endpoint)
            access = Access(rule.access)
            priority = Int32(clamping: rule.priority)
        }

        /// The rule; an access other than GRANTED or DENIED (go-micro's zero value `UNKNOWN`) is refused,
        /// so a rule never means more than it says.
        func rule() throws(AuthError) -> MicroCore.Rule {
            guard let id, !id.isEmpty, let resource, let type = resource.type, let name = resource.name, let endpoint = resource.endpoint,
                  !type.isEmpty, !name.isEmpty, !endpoint.isEmpty, let access = access?.value else {
                throw AuthError(.invalidArgument, "a rule needs an id, a resource type:name:endpoint and an access GRANTED or DENIED")
            }
            return MicroCore.Rule(id: id, scope: scope ?? "", resource: MicroCore.Resource(type: type, name: name, endpoint: endpoint),
                                  access: access, priority: Int(priority ?? 0))
        }
    }

    struct GenerateRequest: Codable, Sendable {
        var id: String?
        var metadata: [String: String]?
        var scopes: [String]?
        var secret: String?
        var type: String?
        var provider: String?
        var options: Options?
    }

    struct GenerateResponse: Codable, Sendable { var account: Account? }

    struct InspectRequest: Codable, Sendable {
        var token: String?
        var options: Options?
    }

    struct InspectResponse: Codable, Sendable { var account: Account? }

    struct TokenRequest: Codable, Sendable {
        var id: String?
        var secret: String?
        var refreshToken: String?
        var tokenExpiry: Int64?
        var options: Options?
    }

    struct TokenResponse: Codable, Sendable { var token: Token? }

    struct CreateRequest: Codable, Sendable {
        var rule: Rule?
        var options: Options?
    }

    /// `Rules.Delete` and `Accounts.Delete`.
    struct DeleteRequest: Codable, Sendable {
        var id: String?
        var options: Options?
    }

    /// `Rules.List`, `Accounts.List` and `Auth.Keys`.
    struct ListRequest: Codable, Sendable { var options: Options? }

    struct ListResponse: Codable, Sendable { var rules: [Rule]? }

    struct ListAccountsResponse: Codable, Sendable { var accounts: [Account]? }

    /// go-micro's empty answers (`CreateResponse`, `DeleteResponse`, ...).
    struct Empty: Codable, Sendable {}
}
