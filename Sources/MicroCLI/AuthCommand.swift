import ArgumentParser
import Foundation
import Micro

/// `micro auth create|list|delete account|rule`: go-micro's auth commands, on the auth's store or through
/// the auth service (`MICRO_AUTH=service`); `micro auth serve` runs that service.
struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth", abstract: "Manage accounts and rules (on the auth's store, or the auth service with MICRO_AUTH=service); serve them.",
        subcommands: [Create.self, List.self, Delete.self, AuthServeCommand.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account or a rule.", subcommands: [Account.self, RuleCommand.self])

        /// `micro auth create account ID [--scopes a,b] [--secret S] [--type user|service]`: prints the account with its secret (shown once).
        struct Account: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "account", abstract: "Create an account; prints it with its secret (shown once).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var auth: AuthOptions
            @Argument(help: "Account id.") var id: String
            @Option(help: "Scopes, comma-separated.") var scopes: String = ""
            @Option(help: "The secret (default: a random one).") var secret: String?
            @Option(help: "user or service.") var type: String = "user"
            @Option(name: .customLong("metadata"), help: "Metadata key=value (repeatable).") var metadata: [String] = []

            func run() async throws {
                try await runReporting {
                    guard let accountType = AccountType(rawValue: type) else { throw ValidationError("--type is user or service") }
                    let options = AccountOptions(type: accountType, scopes: splitList(scopes), metadata: try parseMetadata(metadata).dictionary,
                                                 secret: secret)
                    let account = try await auth.withAuth(global) { try await $0.generate(id, options: options) }
                    try emit(try jsonText(account))
                }
            }
        }

        /// `micro auth create rule ID --scope S --resource type:name:endpoint [--access granted|denied] [--priority N]`.
        struct RuleCommand: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rule", abstract: "Create (or replace) a rule.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var auth: AuthOptions
            @Argument(help: "Rule id.") var id: String
            @Option(help: "Scope a caller must hold: '' public, '*' any account.") var scope: String
            @Option(help: "type:name:endpoint, '*' matching any part (e.g. service:greeter:Greeter.Hello).") var resource: String
            @Option(help: "granted or denied.") var access: String = "granted"
            @Option(help: "Higher wins; at equal priority a denial wins.") var priority: Int = 0

            func run() async throws {
                try await runReporting {
                    guard let parsed = Resource(parsing: resource) else { throw ValidationError("--resource is type:name:endpoint") }
                    guard let ruleAccess = RuleAccess(rawValue: access) else { throw ValidationError("--access is granted or denied") }
                    let rule = Rule(id: id, scope: scope, resource: parsed, access: ruleAccess, priority: priority)
                    try await auth.withAuth(global) { try await $0.grant(rule) }
                    try emit(try jsonText(rule))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts or rules, one JSON object a line.", subcommands: [Accounts.self, Rules.self])

        struct Accounts: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "accounts", abstract: "List accounts (never their secrets).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var auth: AuthOptions
            func run() async throws {
                try await runReporting {
                    for account in try await auth.withAuth(global, { try await $0.accounts() }) { try emit(try jsonText(account)) }
                }
            }
        }

        struct Rules: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rules", abstract: "List rules in the order they are tried.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var auth: AuthOptions
            func run() async throws {
                try await runReporting {
                    for rule in try await auth.withAuth(global, { try await $0.rules() }).rules { try emit(try jsonText(rule)) }
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an account or a rule.", subcommands: [Account.self, RuleCommand.self])

        struct Account: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "account", abstract: "Delete an account.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var auth: AuthOptions
            @Argument(help: "Account id.") var id: String
            func run() async throws {
                try await runReporting { try await auth.withAuth(global) { try await $0.deleteAccount(id) } }
            }
        }

        struct RuleCommand: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rule", abstract: "Delete a rule.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var auth: AuthOptions
            @Argument(help: "Rule id.") var id: String
            func run() async throws {
                try await runReporting { try await auth.withAuth(global) { try await $0.revoke(id) } }
            }
        }
    }
}

/// `a,b` as `["a", "b"]` (empty parts dropped).
func splitList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// A value as one line of JSON with sorted keys.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
