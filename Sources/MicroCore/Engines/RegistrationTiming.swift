/// How long a registration lives and how often it is renewed (go-micro's `--register_ttl` and
/// `--register_interval`), resolved once for services and for the HTTP broker's subscribers alike.
public struct RegistrationTiming: Sendable, Hashable {
    /// How long a registration lives without a heartbeat (go-micro's default: 90 s).
    public var ttl: Duration
    /// How often it is registered again (go-micro's default: 30 s).
    public var interval: Duration

    /// A value given in code wins over `MICRO_REGISTER_TTL` / `MICRO_REGISTER_INTERVAL`, which win
    /// over the defaults; when no one chose the interval and it is not shorter than the TTL (say
    /// `MICRO_REGISTER_TTL=2`), it becomes a third of the TTL, so a registration never lapses.
    public init(ttl: Duration? = nil, interval: Duration? = nil, environment: MicroEnvironment) throws {
        self.ttl = try ttl ?? environment.registerTTLDuration() ?? .seconds(90)
        if let chosen = try interval ?? environment.registerIntervalDuration() {
            self.interval = chosen
        } else {
            self.interval = .seconds(30) < self.ttl ? .seconds(30) : self.ttl / 3
        }
    }
}
