import MicroAddress

/// An etcd member's client address.
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address.
    public var host: String
    /// The client port (etcd's default is 2379).
    public var port: Int

    /// An endpoint.
    public init(host: String, port: Int = 2379) {
        self.host = host
        self.port = port
    }

    /// Parses `host`, `host:port`, `[v6]:port` or `http://host:port` (go-micro's address forms; a
    /// missing port is 2379, a missing host 127.0.0.1, as `HostPort` reads them). `https://` is
    /// refused: TLS is not supported yet.
    public init(parsing text: String) throws(EtcdError) {
        let (scheme, authority) = HostPort.splitScheme(text)
        switch scheme {
        case nil, "http": break
        case "https": throw EtcdError(.invalidArgument, "TLS endpoints are not supported yet: \(text)")
        default: throw EtcdError(.invalidArgument, "unsupported endpoint scheme: \(text)")
        }
        let address: HostPort
        do {
            address = try HostPort(parsing: authority, defaultPort: 2379, defaultHost: HostPort.loopback)
        } catch {
            throw EtcdError(.invalidArgument, "bad endpoint \(text.debugDescription): \(error.reason)", cause: error)
        }
        guard address.port != 0 else { throw EtcdError(.invalidArgument, "bad port in endpoint: \(text)") }
        host = address.host
        port = address.port
    }

    /// Parses a comma-separated list (`MICRO_REGISTRY_ADDRESS`); empty items are skipped.
    public static func list(_ text: String) throws(EtcdError) -> [EtcdEndpoint] {
        var endpoints: [EtcdEndpoint] = []
        for item in text.split(separator: ",") where item.contains(where: { !$0.isWhitespace }) {
            endpoints.append(try EtcdEndpoint(parsing: String(item)))
        }
        return endpoints
    }

    /// `host:port` (`[host]:port` for IPv6).
    public var description: String { HostPort(host: host, port: port).description }
}
