import Foundation
import MicroCore
import NIOSSL
import PostgresNIO

/// Where a ``PostgresStore`` connects and how it keeps its records: the server (from a
/// `postgres://user:password@host:port/database` URL), the schema prefix, limits, pool size and how
/// long an operation may take.
public struct PostgresStoreConfiguration: Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The user to connect as.
    public var username: String
    /// The user's password; nil for none (trust or peer authentication).
    public var password: String?
    /// The PostgreSQL database holding the store's schemas.
    public var database: String
    /// TLS toward the server (`sslmode` in the URL: `disable`, `prefer` — the default, as libpq's —,
    /// `require`, `verify-ca`, `verify-full`).
    public var tls: PostgresClient.Configuration.TLS
    /// Each store database is a schema named this prefix plus the database's name (`store_micro`);
    /// each store table a table in it. At most 15 bytes of `[a-z0-9_]`, so names fit PostgreSQL's
    /// 63-byte identifiers.
    public var schemaPrefix: String
    /// The largest value and metadata a write may carry.
    public var limits: StoreLimits
    /// The longest an operation may take, waiting for a connection included; past it the operation
    /// fails with ``StoreError/Code/unavailable`` (a write then may or may not have been applied).
    public var operationTimeout: Duration
    /// The most connections the pool opens.
    public var maximumConnections: Int
    /// How long opening one connection may take.
    public var connectTimeout: Duration
    /// The `application_name` the connections report (`pg_stat_activity` shows it); `application_name`
    /// in the URL.
    public var applicationName: String

    /// The server used when `MICRO_STORE_ADDRESS` is unset.
    public static let defaultURL = "postgres://postgres@127.0.0.1:5432/postgres"

    /// A configuration for a server.
    public init(host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres", password: String? = nil,
                database: String = "postgres", tls: PostgresClient.Configuration.TLS = .disable, schemaPrefix: String = "store_",
                limits: StoreLimits = StoreLimits(), operationTimeout: Duration = .seconds(10), maximumConnections: Int = 16,
                connectTimeout: Duration = .seconds(5), applicationName: String = "swift-micro") {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.schemaPrefix = schemaPrefix
        self.limits = limits
        self.operationTimeout = operationTimeout
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
    }

    /// A configuration from a URL: `postgres://` or `postgresql://`, user and password (percent-encoded),
    /// host (default 127.0.0.1), port (default 5432), database (default the user's name), and the query
    /// parameters `sslmode`, `schema_prefix` and `application_name`. Throws a ``ConfigurationError`` for anything else.
    public init(url: String, limits: StoreLimits = StoreLimits(), operationTimeout: Duration = .seconds(10)) throws {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw ConfigurationError("MICRO_STORE_ADDRESS for postgres is a URL postgres://user:password@host:port/database, got '\(Self.redacted(url))'")
        }
        let username = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        var host = components.host ?? ""
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw ConfigurationError("the postgres port must be 1 to 65535, got \(port)") }
        var path = components.percentEncodedPath
        if path.hasPrefix("/") { path.removeFirst() }
        let database = path.removingPercentEncoding ?? path
        guard !database.contains("/") else {
            throw ConfigurationError("the postgres URL's path is one database name, got '\(path)'")
        }
        var tls: PostgresClient.Configuration.TLS = .prefer(Self.unverified)
        var prefix = "store_"
        var applicationName = "swift-micro"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer(Self.unverified)
                case "require": tls = .require(Self.unverified)
                case "verify-ca":
                    var verified = TLSConfiguration.makeClientConfiguration()
                    verified.certificateVerification = .noHostnameVerification
                    tls = .require(verified)
                case "verify-full": tls = .require(.makeClientConfiguration())
                default: throw ConfigurationError("sslmode is disable, prefer, require, verify-ca or verify-full, got '\(item.value ?? "")'")
                }
            case "schema_prefix":
                prefix = item.value ?? ""
            case "application_name":
                applicationName = item.value ?? ""
            default:
                throw ConfigurationError("unknown parameter '\(item.name)' in the postgres URL (known: sslmode, schema_prefix, application_name)")
            }
        }
        self.init(host: host, port: port, username: username, password: password,
                  database: database.isEmpty ? username : database, tls: tls, schemaPrefix: prefix, limits: limits,
                  operationTimeout: operationTimeout, applicationName: applicationName)
        try validate()
    }

    /// Throws a ``ConfigurationError`` for a schema prefix, timeout or pool size out of range.
    public func validate() throws {
        guard schemaPrefix.utf8.count <= 15,
              schemaPrefix.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }) else {
            throw ConfigurationError("a postgres schema prefix is at most 15 of [a-z0-9_], got '\(schemaPrefix)'")
        }
        guard operationTimeout > .zero, connectTimeout > .zero else {
            throw ConfigurationError("postgres timeouts must be positive")
        }
        guard maximumConnections >= 1 else { throw ConfigurationError("a postgres pool needs at least one connection") }
        guard applicationName.utf8.count < 64, !applicationName.utf8.contains(0) else {
            throw ConfigurationError("a postgres application_name is under 64 bytes without NUL")
        }
    }

    /// The configuration `MICRO_STORE_ADDRESS` gives (``defaultURL`` when unset).
    public static func fromEnvironment(_ environment: MicroEnvironment = MicroEnvironment()) throws -> PostgresStoreConfiguration {
        try PostgresStoreConfiguration(url: environment.storeAddress ?? defaultURL)
    }

    /// The server as `postgres://user@host:port/database`, without the password, for messages.
    public var displayURL: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)@\(h):\(port)/\(database)"
    }

    /// postgres-nio's client configuration.
    var clientConfiguration: PostgresClient.Configuration {
        var c = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        c.options.maximumConnections = maximumConnections
        c.options.minimumConnections = 0
        c.options.connectTimeout = connectTimeout
        c.options.connectionIdleTimeout = .seconds(60)
        c.options.additionalStartupParameters = [("application_name", applicationName)]
        return c
    }

    /// TLS without certificate checks: libpq's `prefer` and `require`, which encrypt but trust any server.
    private static var unverified: TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        c.certificateVerification = .none
        return c
    }

    /// `url` with any password replaced by `***` (by hand: a URL that does not parse may still hold one).
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"),
              let colon = rest[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
