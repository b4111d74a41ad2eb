import Foundation

/// The process's `MICRO_*` variables, read in this one place (go-micro's names): which engine plays
/// each role and where it is. Engines get it through their ``EngineContext``; none reads the process
/// environment itself.
public struct MicroEnvironment: Sendable {
    /// `MICRO_REGISTRY`: the registry engine's name (default `local`).
    public var registry: String
    /// `MICRO_REGISTRY_ADDRESS`: where the registry is (its directory, server URLs, member or agent
    /// addresses, peers to join; lists comma-separated).
    public var registryAddress: String?
    /// `MICRO_BROKER`: the broker engine's name (default `http`).
    public var broker: String
    /// `MICRO_BROKER_ADDRESS`: where the broker is (the HTTP broker's bind address, server URLs).
    public var brokerAddress: String?
    /// `MICRO_TRANSPORT`: the transport engine's name (default `http`).
    public var transport: String
    /// `MICRO_TRANSPORT_ADDRESS`: where the transport connects (NATS server URLs).
    public var transportAddress: String?
    /// `MICRO_STORE`: the store engine's name (default `sqlite`: a file per database under
    /// `$MICRO_HOME/store`, from the `Micro` module's embedded engines).
    public var store: String
    /// `MICRO_STORE_ADDRESS`: where the store is (SQLite's directory, a database URL, server URLs).
    public var storeAddress: String?
    /// `MICRO_SYNC`: the lock and leader engine's name (default `sqlite`: locks in a SQLite table under
    /// `$MICRO_HOME/store`; any store's name serves, see ``Engines/makeSync(_:)``; `etcd` with MicroEtcd).
    public var sync: String
    /// `MICRO_SYNC_ADDRESS`: where the sync engine is (as the store of that name takes it, or etcd members).
    public var syncAddress: String?
    /// `MICRO_CONFIG`: the shared configuration source's name (`etcd`, `nats`, `consul`, `memory`);
    /// nil (unset or `none`) when a service reads only its files, environment and defaults.
    public var config: String?
    /// `MICRO_CONFIG_ADDRESS`: where the configuration source is (server URLs, an agent address).
    public var configAddress: String?
    /// `MICRO_EVENTS`: the event stream engine's name (default `memory`).
    public var events: String
    /// `MICRO_EVENTS_ADDRESS`: where the event stream is (NATS server URLs).
    public var eventsAddress: String?
    /// `MICRO_EVENT_STORE`: the event store engine's name (default `memory`).
    public var eventStore: String
    /// `MICRO_EVENT_STORE_ADDRESS`: where the event store is (NATS server URLs, a database URL).
    public var eventStoreAddress: String?
    /// `MICRO_AUTH`: the auth engine's name (`memory`; `jwt` with MicroAuth); nil (unset or `none`) when
    /// calls are not checked.
    public var auth: String?
    /// `MICRO_AUTH_ADDRESS`: where the auth is, for engines that reach one (nil: the service's own store).
    public var authAddress: String?
    /// `MICRO_AUTH_ID` (go-micro's `--auth_id`): the account a service signs in as at start.
    public var authID: String?
    /// `MICRO_AUTH_SECRET` (go-micro's `--auth_secret`): that account's secret.
    public var authSecret: String?
    /// `MICRO_SERVER_ADDRESS`: the address services bind and advertise; default `127.0.0.1:0` (a free port).
    public var serverAddress: String?
    /// `MICRO_REGISTER_TTL` (go-micro's `--register_ttl`): seconds a registration lives without a
    /// heartbeat, e.g. `"90"` or `"1.5"`; read by ``registerTTLDuration()``.
    public var registerTTL: String?
    /// `MICRO_REGISTER_INTERVAL` (go-micro's `--register_interval`): seconds between heartbeats.
    public var registerInterval: String?
    /// `MICRO_HOME`: where embedded engines keep their files (default `~/.micro`).
    public var home: String
    /// `MICRO_ENABLE_TLS` (go-micro's `--enable_tls`): serve and call over TLS; any value but
    /// `false`, `0`, `no` or `off` turns it on. Serving needs ``tlsCertFile`` and ``tlsKeyFile``.
    public var enableTLS: Bool
    /// `MICRO_TLS_CERT_FILE` (go-micro's `--tls_cert_file`): the PEM certificate chain this process
    /// presents, as a server and, to servers that ask, as a client. Setting it turns TLS on.
    public var tlsCertFile: String?
    /// `MICRO_TLS_KEY_FILE` (go-micro's `--tls_key_file`): the PEM private key of ``tlsCertFile``.
    public var tlsKeyFile: String?
    /// `MICRO_TLS_CLIENT_CA_FILE` (go-micro's `--tls_client_ca_file`): PEM CA certificates a server
    /// verifies clients against; setting it makes TLS mutual (a client without such a certificate is refused).
    public var tlsClientCAFile: String?
    /// `MICRO_TLS_CA_FILE`: PEM CA certificates (a bundle) a client trusts for the servers it calls
    /// (default: the system's roots). Setting it turns TLS on for calls.
    public var tlsCAFile: String?
    /// `MICRO_TLS_SERVER_NAME`: the name a client checks servers' certificates against (and sends as
    /// SNI) instead of the host it connects to.
    public var tlsServerName: String?
    /// Every `MICRO_*` variable, for engine-specific settings (`MICRO_GOSSIP_ADDRESS`, ...).
    public var values: [String: String]

    /// Reads the variables from the process environment (or a given dictionary, for tests); empty
    /// values count as unset.
    public init(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        var values: [String: String] = [:]
        for (key, value) in env where key.hasPrefix("MICRO_") && !value.isEmpty { values[key] = value }
        self.values = values
        registry = values["MICRO_REGISTRY"]?.lowercased() ?? "local"
        registryAddress = values["MICRO_REGISTRY_ADDRESS"]
        broker = values["MICRO_BROKER"]?.lowercased() ?? "http"
        brokerAddress = values["MICRO_BROKER_ADDRESS"]
        transport = values["MICRO_TRANSPORT"]?.lowercased() ?? "http"
        transportAddress = values["MICRO_TRANSPORT_ADDRESS"]
        store = values["MICRO_STORE"]?.lowercased() ?? "sqlite"
        storeAddress = values["MICRO_STORE_ADDRESS"]
        sync = values["MICRO_SYNC"]?.lowercased() ?? "sqlite"
        syncAddress = values["MICRO_SYNC_ADDRESS"]
        let configName = values["MICRO_CONFIG"]?.lowercased()
        config = configName == "none" ? nil : configName
        configAddress = values["MICRO_CONFIG_ADDRESS"]
        events = values["MICRO_EVENTS"]?.lowercased() ?? "memory"
        eventsAddress = values["MICRO_EVENTS_ADDRESS"]
        eventStore = values["MICRO_EVENT_STORE"]?.lowercased() ?? "memory"
        eventStoreAddress = values["MICRO_EVENT_STORE_ADDRESS"]
        let authName = values["MICRO_AUTH"]?.lowercased()
        auth = authName == "none" ? nil : authName
        authAddress = values["MICRO_AUTH_ADDRESS"]
        authID = values["MICRO_AUTH_ID"]
        authSecret = values["MICRO_AUTH_SECRET"]
        serverAddress = values["MICRO_SERVER_ADDRESS"]
        registerTTL = values["MICRO_REGISTER_TTL"]
        registerInterval = values["MICRO_REGISTER_INTERVAL"]
        enableTLS = values["MICRO_ENABLE_TLS"].map { !["false", "0", "no", "off"].contains($0.lowercased()) } ?? false
        tlsCertFile = values["MICRO_TLS_CERT_FILE"]
        tlsKeyFile = values["MICRO_TLS_KEY_FILE"]
        tlsClientCAFile = values["MICRO_TLS_CLIENT_CA_FILE"]
        tlsCAFile = values["MICRO_TLS_CA_FILE"]
        tlsServerName = values["MICRO_TLS_SERVER_NAME"]
        let userHome = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        home = values["MICRO_HOME"] ?? (userHome.hasSuffix("/") ? userHome + ".micro" : userHome + "/.micro")
    }

    /// Whether any TLS setting is given (``enableTLS`` or a `MICRO_TLS_*` file): the HTTP transport and
    /// broker then need TLS (the `MicroTLS` module's `.tls` plugin), and calls go over TLS.
    public var wantsTLS: Bool {
        enableTLS || tlsCertFile != nil || tlsKeyFile != nil || tlsClientCAFile != nil || tlsCAFile != nil
    }

    /// A `MICRO_*` variable by its full name, nil when unset or empty.
    public subscript(_ variable: String) -> String? {
        values[variable]
    }

    /// ``registerTTL`` as a duration (nil when unset); throws a ``ConfigurationError`` unless it is a
    /// positive number of seconds (at most a year).
    public func registerTTLDuration() throws -> Duration? {
        try registerTTL.map { try Self.seconds($0, variable: "MICRO_REGISTER_TTL") }
    }

    /// ``registerInterval`` as a duration (nil when unset); throws like ``registerTTLDuration()``.
    public func registerIntervalDuration() throws -> Duration? {
        try registerInterval.map { try Self.seconds($0, variable: "MICRO_REGISTER_INTERVAL") }
    }

    private static func seconds(_ text: String, variable: String) throws -> Duration {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0, value <= 366 * 86_400 else {
            throw ConfigurationError("\(variable) must be a positive number of seconds, got '\(text)'")
        }
        return .milliseconds(Int64(max(1, (value * 1000).rounded())))
    }
}
