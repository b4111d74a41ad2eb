import Metrics
import MicroCore
import MicroHTTP

/// How a ``MicroService`` runs: where it listens, how it registers, how long it drains.
public struct ServiceOptions: Sendable {
    /// Bind and advertise address; nil: `MICRO_SERVER_ADDRESS`, else `127.0.0.1:0` (a free port).
    public var address: String?
    /// Service metadata put in the registry record.
    public var metadata: [String: String]
    /// How long a registration lives without a heartbeat (go-micro's default: 90 s).
    ///
    /// Left unset in code, it comes from `MICRO_REGISTER_TTL` (seconds, go-micro's `--register_ttl`)
    /// when that is set; a value given here (to the initializer or by assignment) wins over the variable.
    public var registerTTL: Duration { didSet { registerTTLIsExplicit = true } }
    /// How often the service registers again (go-micro's default: 30 s).
    ///
    /// Left unset in code, it comes from `MICRO_REGISTER_INTERVAL` (seconds, go-micro's
    /// `--register_interval`) when that is set. When neither sets it and it is not shorter than
    /// ``registerTTL`` (say `MICRO_REGISTER_TTL=2`), the service heartbeats every third of the TTL
    /// instead, so its registration never lapses while it runs.
    public var registerInterval: Duration { didSet { registerIntervalIsExplicit = true } }
    /// Whether ``registerTTL`` was given in code (then `MICRO_REGISTER_TTL` is not consulted).
    var registerTTLIsExplicit: Bool
    /// Whether ``registerInterval`` was given in code (then `MICRO_REGISTER_INTERVAL` is not consulted).
    var registerIntervalIsExplicit: Bool
    /// How long calls in flight may take to finish on shutdown.
    public var drainTimeout: Duration
    /// Limits of the HTTP transport.
    public var http: HTTPTransportConfiguration
    /// Defaults for calls the service's client makes.
    public var callDefaults: CallOptions
    /// Record swift-metrics counters and timers and swift-distributed-tracing spans for every call,
    /// publish and delivery (they cost nothing until the executable bootstraps a backend).
    public var observability: Bool
    /// The bounds of the service's debug buffers (`Debug.Log`, `Debug.Stats`, `Debug.Trace`); nil turns
    /// the debug endpoints and buffers off.
    public var debug: DebugLimits?
    /// Where the metrics wrappers report; nil: `MetricsSystem.factory` at the time of each call.
    public var metricsFactory: (any MetricsFactory)?

    /// Options with go-micro's defaults; a nil `registerTTL` or `registerInterval` means
    /// `MICRO_REGISTER_TTL` / `MICRO_REGISTER_INTERVAL` if set, else 90 s / 30 s.
    public init(address: String? = nil, metadata: [String: String] = [:], registerTTL: Duration? = nil,
                registerInterval: Duration? = nil, drainTimeout: Duration = .seconds(10),
                http: HTTPTransportConfiguration = HTTPTransportConfiguration(), callDefaults: CallOptions = CallOptions(),
                observability: Bool = true, debug: DebugLimits? = DebugLimits(), metricsFactory: (any MetricsFactory)? = nil) {
        self.address = address
        self.metadata = metadata
        self.registerTTL = registerTTL ?? .seconds(90)
        self.registerInterval = registerInterval ?? .seconds(30)
        self.registerTTLIsExplicit = registerTTL != nil
        self.registerIntervalIsExplicit = registerInterval != nil
        self.drainTimeout = drainTimeout
        self.http = http
        self.callDefaults = callDefaults
        self.observability = observability
        self.debug = debug
        self.metricsFactory = metricsFactory
    }

    /// Takes the resolved TTL and interval, keeping track of which were given in code.
    mutating func resolve(_ timing: RegistrationTiming) {
        let explicit = (registerTTLIsExplicit, registerIntervalIsExplicit)
        registerTTL = timing.ttl
        registerInterval = timing.interval
        (registerTTLIsExplicit, registerIntervalIsExplicit) = explicit
    }
}
