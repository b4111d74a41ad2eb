import MicroCore

/// The body of `PUT /v1/agent/service/register` for one node, byte for byte as go-micro's plugin
/// (through Consul's Go API) sends it: `{"ID","Name","Tags","Port","Address","Check","Checks"}` in Go's
/// field order, empty fields omitted, `Check` `{"TTL","DeregisterCriticalServiceAfter"}` or `null`.
struct ConsulServiceRegistration: Sendable, Hashable {
    var id: String
    var name: String
    var tags: [String]
    var address: String
    var port: Int
    var ttl: Duration?
    var deregisterAfter: Duration?

    init(service: ServiceRecord, node: Node, ttl: Duration?, configuration: ConsulRegistryConfiguration) {
        id = node.id
        name = service.name
        tags = ConsulTags.encode(service, node: node, serviceMetadata: configuration.encodeServiceMetadata)
        let (host, port) = ConsulAddress.split(node.address)
        address = host
        self.port = port
        if let ttl, ttl > .zero {
            self.ttl = ttl
            deregisterAfter = configuration.deregisterCriticalServiceAfter(ttl: ttl)
        }
    }

    /// The JSON body.
    var json: [UInt8] {
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
