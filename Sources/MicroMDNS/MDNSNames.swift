/// The names the registry uses, derived once from its configuration.
struct MDNSNames: Sendable {
    /// go-micro's domain (`micro.`).
    let domain: DNSName
    /// The wildcard service every registering process announces (`_services.micro.`).
    let services: DNSName
    /// The DNS-SD meta-query name in go-micro's domain (`_services._dns-sd._udp.micro.`).
    let metaQuery: DNSName
    /// The DNS-SD service type (`_micro._tcp.local.`).
    let dnsSDType: DNSName
    /// The DNS-SD meta-query name in `local.`.
    let dnsSDMetaQuery: DNSName
    /// `local.`
    let local: DNSName

    init(domain: String, dnsSDServiceType: String) throws(MDNSError) {
        do {
            self.domain = try DNSName(domain)
            guard !self.domain.labels.isEmpty else { throw DNSError(.unencodable, "the root") }
            services = try DNSName(labels: [Array("_services".utf8)] + self.domain.labels)
            metaQuery = try DNSName(labels: ["_services", "_dns-sd", "_udp"].map { Array($0.utf8) } + self.domain.labels)
            local = try DNSName("local.")
            dnsSDType = try DNSName(labels: try DNSName(dnsSDServiceType).labels + local.labels)
            dnsSDMetaQuery = try DNSName(labels: ["_services", "_dns-sd", "_udp"].map { Array($0.utf8) } + local.labels)
        } catch {
            throw MDNSError(.invalidArgument, "domain \(domain) or service type \(dnsSDServiceType): \(error)")
        }
    }

    /// `<service>.micro.` (a service name with dots spans several labels, as in go-micro).
    func service(_ name: String) throws(MDNSError) -> DNSName {
        do { return try DNSName(labels: try DNSName(name).labels + domain.labels) } catch {
            throw MDNSError(.invalidArgument, "service name \(name): \(error)")
        }
    }

    /// `<node id>.<service>.micro.`
    func instance(node: String, service: String) throws(MDNSError) -> DNSName {
        do { return try DNSName(labels: try DNSName(node).labels + self.service(service).labels) } catch let e as MDNSError {
            throw e
        } catch {
            throw MDNSError(.invalidArgument, "node id \(node): \(error)")
        }
    }

    /// `<service>._services.micro.`, the wildcard entry of a service.
    func wildcard(service: String) throws(MDNSError) -> DNSName {
        do { return try DNSName(labels: try DNSName(service).labels + services.labels) } catch {
            throw MDNSError(.invalidArgument, "service name \(service): \(error)")
        }
    }

    /// `<node id>._micro._tcp.local.`: the node id as one label (cut to 63 bytes).
    func dnsSDInstance(node: String) throws(MDNSError) -> DNSName {
        do { return try DNSName(labels: [Array(Array(node.utf8).prefix(63))] + dnsSDType.labels) } catch {
            throw MDNSError(.invalidArgument, "node id \(node): \(error)")
        }
    }
}
