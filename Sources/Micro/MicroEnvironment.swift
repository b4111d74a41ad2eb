import Foundation
import Logging
import MicroCore
import MicroHTTP
import MicroMDNS
import MicroConsul
import MicroEtcd
import MicroGossip
import MicroGRPC
import MicroNATS

/// The engines chosen by go-micro's environment variables (`MICRO_REGISTRY`, `MICRO_REGISTRY_ADDRESS`,
/// `MICRO_BROKER`, `MICRO_BROKER_ADDRESS`, `MICRO_TRANSPORT`, `MICRO_TRANSPORT_ADDRESS`,
/// `MICRO_SERVER_ADDRESS`, `MICRO_REGISTER_TTL`, `MICRO_REGISTER_INTERVAL`), or set in code.
public struct MicroEnvironment: Sendable {
    /// `local` (default: files under `$MICRO_HOME`), `memory`, `mdns` (multicast DNS on the local
    /// network, go-micro's default), `nats`, `etcd`, `consul` or `gossip`.
    public var registry: String
    /// Where the registry lives (for `local`: its directory; for `nats`: server URLs; for `etcd`:
    /// member addresses; for `consul`: agent addresses; for `gossip`: peers to join; lists comma-separated).
    public var registryAddress: String?
    /// `http` (default), `memory` or `nats`.
    public var broker: String
    /// Where the broker is (for `http`: the subscriber listener's bind address; for `nats`: server URLs).
    public var brokerAddress: String?
    /// `http` (default), `memory`, `nats` (RPC over NATS request/reply: services open no port) or
    /// `grpc` (gRPC over HTTP/2; native gRPC clients can call protobuf endpoints).
    public var transport: String
    /// For the `nats` transport: server URLs, comma-separated (default `nats://127.0.0.1:4222`).
    public var transportAddress: String?
    /// The address services bind and advertise; default `127.0.0.1:0` (a free port).
    public var serverAddress: String?
    /// `MICRO_REGISTER_TTL` (go-micro's `--register_ttl`): seconds a service's registration (and its
    /// HTTP broker subscribers') lives without a heartbeat, e.g. `"90"` or `"1.5"`. Unset:
    /// ``ServiceOptions/registerTTL``'s default.
    /// Read by ``registerTTLDuration()``; a value that is not a positive number of seconds is a
    /// ``ConfigurationError`` when a ``Service`` is created.
    public var registerTTL: String?
    /// `MICRO_REGISTER_INTERVAL` (go-micro's `--register_interval`): seconds between a service's
    /// re-registrations (heartbeats), e.g. `"30"`. Unset: ``ServiceOptions/registerInterval``'s default.
    public var registerInterval: String?
    /// `MICRO_GOSSIP_ADDRESS`: where the `gossip` registry listens (UDP and TCP), default `127.0.0.1:7946`.
    public var gossipAddress: String?

    /// Reads the variables from the process environment (or a given dictionary, for tests).
    public init(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        registry = value("MICRO_REGISTRY")?.lowercased() ?? "local"
        registryAddress = value("MICRO_REGISTRY_ADDRESS")
        broker = value("MICRO_BROKER")?.lowercased() ?? "http"
        brokerAddress = value("MICRO_BROKER_ADDRESS")
        transport = value("MICRO_TRANSPORT")?.lowercased() ?? "http"
        transportAddress = value("MICRO_TRANSPORT_ADDRESS")
        serverAddress = value("MICRO_SERVER_ADDRESS")
        registerTTL = value("MICRO_REGISTER_TTL")
        registerInterval = value("MICRO_REGISTER_INTERVAL")
        gossipAddress = value("MICRO_GOSSIP_ADDRESS")
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

    /// The registries this build knows by name.
    public static let registries = ["local", "memory", "mdns", "nats", "etcd", "consul", "gossip"]
    /// The brokers this build knows by name.
    public static let brokers = ["http", "memory", "nats"]
    /// The transports this build knows by name.
    public static let transports = ["http", "memory", "nats", "grpc"]

    /// NATS options for a comma-separated list of server URLs (go-micro's address lists); nil or
    /// empty means `nats://127.0.0.1:4222`.
    static func natsOptions(_ addresses: String?) -> NATSOptions {
        let servers = (addresses ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var options = servers.isEmpty ? NATSOptions() : NATSOptions(servers: servers)
        options.name = ProcessInfo.processInfo.processName
        return options
    }

    /// One memory registry, broker and transport per process, so `memory` engines reach each other.
    static let sharedMemoryRegistry = MemoryRegistry()
    static let sharedMemoryBroker = MemoryBroker()
    static let sharedMemoryTransport = MemoryTransport()

    /// The registry named by `registry`; an unknown name is a clear error.
    public func makeRegistry() throws -> any Registry {
        switch registry {
        case "local": return LocalRegistry(directory: registryAddress)
        case "memory": return Self.sharedMemoryRegistry
        case "mdns": return MDNSRegistry()
        case "nats": return NATSRegistry(options: Self.natsOptions(registryAddress))
        case "etcd": return try EtcdRegistry(addresses: registryAddress)
        case "consul": return ConsulRegistry(addresses: registryAddress)
        case "gossip": return GossipRegistry(bind: gossipAddress ?? "127.0.0.1:7946", peers: registryAddress ?? "")
        default: throw ConfigurationError("unknown registry '\(registry)' (MICRO_REGISTRY); this build has: \(Self.registries.joined(separator: ", "))")
        }
    }

    /// The broker named by `broker`; for `http`, subscribers register with the TTL and interval of
    /// `MICRO_REGISTER_TTL` / `MICRO_REGISTER_INTERVAL` when set.
    public func makeBroker(registry: any Registry) throws -> any Broker {
        switch broker {
        case "http":
            // Subscribers' registrations live and heartbeat like the service's (MICRO_REGISTER_TTL/_INTERVAL).
            let ttl = try registerTTLDuration() ?? .seconds(90)
            var interval = try registerIntervalDuration() ?? .seconds(30)
            if registerInterval == nil, interval >= ttl { interval = ttl / 3 }
            return HTTPBroker(registry: registry, address: brokerAddress ?? "127.0.0.1:0", registerTTL: ttl, registerInterval: interval)
        case "memory": return Self.sharedMemoryBroker
        case "nats": return NATSBroker(options: Self.natsOptions(brokerAddress))
        default: throw ConfigurationError("unknown broker '\(broker)' (MICRO_BROKER); this build has: \(Self.brokers.joined(separator: ", "))")
        }
    }

    /// The client and server sides of the transport named by `transport`.
    public func makeTransport(configuration: HTTPTransportConfiguration = HTTPTransportConfiguration()) throws -> (client: any ClientTransport, server: any ServerTransport) {
        switch transport {
        case "http": return (HTTPClientTransport(configuration: configuration), HTTPServerTransport(configuration: configuration))
        case "memory": return (Self.sharedMemoryTransport, Self.sharedMemoryTransport)
        case "nats":
            let options = Self.natsOptions(transportAddress)
            return (NATSClientTransport(options: options), NATSServerTransport(options: options))
        case "grpc": return (GRPCClientTransport(), GRPCServerTransport())
        default: throw ConfigurationError("unknown transport '\(transport)' (MICRO_TRANSPORT); this build has: \(Self.transports.joined(separator: ", "))")
        }
    }
}

/// A misconfiguration found at start-up (an unknown engine name, a bad address).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

extension Client {
    /// A client on the engines `MICRO_*` variables choose (local registry, HTTP transport and broker by default).
    public convenience init(environment: MicroEnvironment = MicroEnvironment(), defaults: CallOptions = CallOptions(),
                            callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = []) throws {
        let registry = try environment.makeRegistry()
        let broker = try environment.makeBroker(registry: registry)
        let transport = try environment.makeTransport()
        // A client reaches every node it finds, whatever it speaks: the chosen transport, plus HTTP,
        // gRPC and NATS (whose connection opens only when a NATS node is called).
        var transports: [any ClientTransport] = [transport.client]
        if transport.client.protocolName != "mucp" { transports.append(HTTPClientTransport()) }
        if transport.client.protocolName != "grpc" { transports.append(GRPCClientTransport()) }
        if transport.client.protocolName != "nats" {
            transports.append(NATSClientTransport(options: MicroEnvironment.natsOptions(environment.transportAddress)))
        }
        self.init(registry: registry, transports: transports, broker: broker, defaults: defaults,
                  callWrappers: callWrappers, publishWrappers: publishWrappers)
    }
}
