import Foundation

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
    /// missing port is 2379). `https://` is refused: TLS is not supported yet.
    public init(parsing text: String) throws {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        } else if rest.hasPrefix("https://") {
            throw EtcdError(.invalidArgument, "TLS endpoints are not supported yet: \(text)")
        } else if rest.contains("://") {
            throw EtcdError(.invalidArgument, "unsupported endpoint scheme: \(text)")
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard !rest.isEmpty else { throw EtcdError(.invalidArgument, "empty endpoint") }
        var host = rest, port = 2379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw EtcdError(.invalidArgument, "bad endpoint: \(text)") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw EtcdError(.invalidArgument, "bad port in endpoint: \(text)") }
                port = p
            } else if !after.isEmpty {
                throw EtcdError(.invalidArgument, "bad endpoint: \(text)")
            }
        } else if let colon = rest.lastIndex(of: ":"), rest.firstIndex(of: ":") == colon {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw EtcdError(.invalidArgument, "bad port in endpoint: \(text)")
            }
            port = p
        }
        guard !host.isEmpty else { throw EtcdError(.invalidArgument, "bad endpoint: \(text)") }
        self.host = String(host)
        self.port = port
    }

    /// Parses a comma-separated list (`MICRO_REGISTRY_ADDRESS`); empty items are skipped.
    public static func list(_ text: String) throws -> [EtcdEndpoint] {
        try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map(EtcdEndpoint.init(parsing:))
    }

    /// `host:port` (`[host]:port` for IPv6).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How an ``EtcdClient`` reaches its cluster: members, timeouts and limits.
public struct EtcdConfiguration: Sendable {
    /// The members to use, tried in order; on failure the client moves to the next one.
    public var endpoints: [EtcdEndpoint]
    /// How long one attempt of a request may take on one member (go-micro's registry timeout: 5 s).
    public var requestTimeout: Duration = .seconds(5)
    /// How long an attempt may take while a failover is under way (an attempt of the same request
    /// failed, or the client moved to another member within ``memberQuarantine``): a member that has
    /// not yet noticed that the leader died holds a write until etcd's own timeout, so such attempts
    /// give up on it sooner and move on.
    public var retryRequestTimeout: Duration = .seconds(2)
    /// The longest a request may take across all its attempts on every member.
    public var operationTimeout: Duration = .seconds(15)
    /// The first pause between attempts (doubling per attempt up to ``maxRetryBackoff``).
    public var retryBackoff: Duration = .milliseconds(50)
    /// The longest pause between attempts.
    public var maxRetryBackoff: Duration = .seconds(1)
    /// The longest a member stays avoided after it failed, unless every member has failed.
    public var memberQuarantine: Duration = .seconds(5)
    /// HTTP/2 pings on idle connections to notice a member that vanished without closing its
    /// connections; nil turns them off.
    public var keepalivePing: (interval: Duration, timeout: Duration)? = (.seconds(10), .seconds(5))
    /// The largest response message accepted (a range read is paged to stay below it; etcd's own
    /// request limit is 1.5 MiB).
    public var maxResponseBytes: Int = 32 * 1024 * 1024
    /// The largest request message sent.
    public var maxRequestBytes: Int = 4 * 1024 * 1024
    /// Keys per page when a read fetches a whole prefix.
    public var rangePageSize: Int = 1000
    /// The most watches one client keeps open.
    public var maxWatches: Int = 1024
    /// Batches a watch buffers for a slow consumer before it ends with ``EtcdError/Code/slowConsumer``.
    public var watchBufferLimit: Int = 4096
    /// The most leases kept alive by one client.
    public var maxKeepAliveLeases: Int = 100_000

    /// The members at `endpoints`.
    public init(endpoints: [EtcdEndpoint] = [EtcdEndpoint(host: "127.0.0.1")]) {
        self.endpoints = endpoints
    }

    /// The members in a comma-separated list (`MICRO_REGISTRY_ADDRESS`); an empty list means `127.0.0.1:2379`.
    public init(addresses: String?) throws {
        let parsed = try EtcdEndpoint.list(addresses ?? "")
        self.init(endpoints: parsed.isEmpty ? [EtcdEndpoint(host: "127.0.0.1")] : parsed)
    }
}
