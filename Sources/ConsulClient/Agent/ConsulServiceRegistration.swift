/// A service instance for `PUT /v1/agent/service/register`. Its body is byte for byte what go-micro's
/// plugin (through Consul's Go API) sends: `{"ID","Name","Tags","Port","Address","Check","Checks"}` in
/// Go's field order, empty fields omitted, `Check` `{"TTL","DeregisterCriticalServiceAfter"}` or `null`.
public struct ConsulServiceRegistration: Sendable, Hashable {
    /// The instance's id.
    public var id: String
    /// The service's name.
    public var name: String
    /// The instance's tags.
    public var tags: [String]
    /// The instance's address (empty: the agent's node address).
    public var address: String
    /// The instance's port (0: none).
    public var port: Int
    /// The TTL of the instance's check (nil: no check).
    public var ttl: Duration?
    /// How long the check may stay critical before Consul removes the instance (with a TTL).
    public var deregisterAfter: Duration?

    /// An instance; a check is registered only with both a positive `ttl` and `deregisterAfter`.
    public init(id: String, name: String, tags: [String] = [], address: String = "", port: Int = 0,
                ttl: Duration? = nil, deregisterAfter: Duration? = nil) {
        self.id = id
        self.name = name
        self.tags = tags
        self.address = address
        self.port = port
        if let ttl, ttl > .zero {
            self.ttl = ttl
            self.deregisterAfter = deregisterAfter
        }
    }

    /// The JSON body.
    package var json: [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func key(_ k: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            GoFormat.appendJSONString(k, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        if !id.isEmpty { key("ID"); GoFormat.appendJSONString(id, to: &out) }
        if !name.isEmpty { key("Name"); GoFormat.appendJSONString(name, to: &out) }
        if !tags.isEmpty {
            key("Tags")
            out.append(UInt8(ascii: "["))
            for (i, t) in tags.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                GoFormat.appendJSONString(t, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        if port != 0 { key("Port"); out += Array(String(port).utf8) }
        if !address.isEmpty { key("Address"); GoFormat.appendJSONString(address, to: &out) }
        key("Check")
        if let ttl, let deregisterAfter {
            out += Array(#"{"TTL":"#.utf8)
            GoFormat.appendJSONString(GoFormat.duration(ttl), to: &out)
            out += Array(#","DeregisterCriticalServiceAfter":"#.utf8)
            GoFormat.appendJSONString(GoFormat.duration(deregisterAfter), to: &out)
            out.append(UInt8(ascii: "}"))
        } else {
            out += Array("null".utf8)
        }
        key("Checks")
        out += Array("null".utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
