import MicroCore
import MicroHTTP

/// How a ``Service`` runs: where it listens, how it registers, how long it drains.
public struct ServiceOptions: Sendable {
    /// Bind and advertise address; nil: `MICRO_SERVER_ADDRESS`, else `127.0.0.1:0` (a free port).
    public var address: String?
    /// Service metadata put in the registry record.
    public var metadata: [String: String]
    /// How long a registration lives without a heartbeat (go-micro's default: 90 s).
    public var registerTTL: Duration
    /// How often the service registers again (go-micro's default: 30 s).
    public var registerInterval: Duration
    /// How long calls in flight may take to finish on shutdown.
    public var drainTimeout: Duration
    /// Limits of the HTTP transport.
    public var http: HTTPTransportConfiguration
    /// Defaults for calls the service's client makes.
    public var callDefaults: CallOptions
    /// Record swift-metrics counters and timers and swift-distributed-tracing spans for every call,
    /// publish and delivery (they cost nothing until the executable bootstraps a backend).
    public var observability: Bool

    /// Options with go-micro's defaults.
    public init(address: String? = nil, metadata: [String: String] = [:], registerTTL: Duration = .seconds(90),
                registerInterval: Duration = .seconds(30), drainTimeout: Duration = .seconds(10),
                http: HTTPTransportConfiguration = HTTPTransportConfiguration(), callDefaults: CallOptions = CallOptions(),
                observability: Bool = true) {
        self.address = address
        self.metadata = metadata
        self.registerTTL = registerTTL
        self.registerInterval = registerInterval
        self.drainTimeout = drainTimeout
        self.http = http
        self.callDefaults = callDefaults
        self.observability = observability
    }
}

/// What a subscriber knows about the message it handles.
public struct SubscriberContext: Sendable {
    /// The topic.
    public var topic: String
    /// The message headers (the publisher's metadata, `Content-Type`, `Micro-Id`, ...).
    public var metadata: Metadata
    /// A logger tagged with the topic.
    public var logger: Logger
}

import Logging
