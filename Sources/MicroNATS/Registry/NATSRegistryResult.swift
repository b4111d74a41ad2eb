import MicroCore

/// go-micro's `registry.Result` as its NATS registry sends it: `{"Action": ..., "Service": {...}}`.
///
/// Queries use the actions `get` (with the service name) and `list` (`Service` null); watch events use
/// `create`, `update` and `delete` with the nodes concerned. Swift Micro adds `"TTL"`, the registration's
/// time to live in nanoseconds (Go's `time.Duration` encoding), so watchers can expire nodes whose
/// process died; go-micro ignores the unknown field and sends none.
struct NATSRegistryResult: Codable, Sendable, Equatable {
    var action: String
    var service: ServiceRecord?
    var ttl: Int64?

    init(action: String, service: ServiceRecord?, ttl: Duration? = nil) {
        self.action = action
        self.service = service
        self.ttl = ttl.map(\.nanosecondCount)
    }

    enum CodingKeys: String, CodingKey {
        case action = "Action", service = "Service", ttl = "TTL"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        action = try c.decodeIfPresent(String.self, forKey: .action) ?? ""
        service = try c.decodeIfPresent(ServiceRecord.self, forKey: .service)
        ttl = try c.decodeIfPresent(Int64.self, forKey: .ttl)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Go marshals a nil *Service as null, and go-micro's `list` query carries exactly that.
        try c.encode(service, forKey: .service)
        try c.encode(action, forKey: .action)
        if let ttl { try c.encode(ttl, forKey: .ttl) }
    }

    /// The TTL as a duration (nil when absent or not positive).
    var timeToLive: Duration? {
        guard let ttl, ttl > 0 else { return nil }
        return .nanoseconds(ttl)
    }
}
