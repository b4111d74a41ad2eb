/// What `micro run SOURCE` resolved: every service of the graph (the source's and, through the
/// manifests, its dependencies') fetched, with its manifest, and the order to start them in.
struct ServicePlan: Sendable {
    /// One service of the plan.
    struct Entry: Sendable {
        var name: String
        var source: RuntimeSource
        var checkout: SourceFetcher.Checkout
        var manifest: RuntimeManifest
        var dependencies: [String]
    }

    /// The most services one plan may hold.
    static let maxServices = 64

    /// The services by name.
    private(set) var entries: [String: Entry] = [:]
    /// The root service's name (the source `micro run` was given).
    private(set) var root = ""
    /// The services in waves, dependencies first.
    private(set) var waves: [[String]] = []

    /// Fetches `source` and, following `depends` in the manifests, every dependency; orders them.
    /// Throws a ``RuntimeError`` for a bad source, a fetch failure, a bad manifest, two services of one
    /// name, a cycle (named), or more than ``maxServices`` services.
    static func resolve(_ source: RuntimeSource, name: String?, fetcher: SourceFetcher) async throws -> ServicePlan {
        var plan = ServicePlan()
        var graph = DependencyGraph()
        var bySource: [RuntimeSource: String] = [:]
        plan.root = try await plan.visit(source, name: name, fetcher: fetcher, graph: &graph, bySource: &bySource)
        plan.waves = try graph.waves()
        return plan
    }

    private mutating func visit(_ source: RuntimeSource, name: String?, fetcher: SourceFetcher, graph: inout DependencyGraph,
                                bySource: inout [RuntimeSource: String]) async throws -> String {
        if let known = bySource[source] { return known }
        guard entries.count < Self.maxServices else {
            throw RuntimeError(.badManifest, "the dependencies hold more than \(Self.maxServices) services")
        }
        let checkout = try await fetcher.fetch(source)
        let manifest: RuntimeManifest
        if case .binary = source.kind { manifest = RuntimeManifest() } else { manifest = try RuntimeManifest.load(from: checkout.path) }
        let serviceName = name ?? manifest.name ?? manifest.product ?? source.defaultName
        guard RuntimeManifest.isValidName(serviceName) else {
            throw RuntimeError(.badManifest, "'\(serviceName.prefix(100))' is not a service name (1 to 64 of [A-Za-z0-9._-])")
        }
        if let other = entries[serviceName] {
            throw RuntimeError(.badManifest, "two services are named \(serviceName): \(other.source) and \(source)")
        }
        bySource[source] = serviceName
        entries[serviceName] = Entry(name: serviceName, source: source, checkout: checkout, manifest: manifest, dependencies: [])
        graph.add(serviceName, dependsOn: [])   // in the order met, so a cycle is named from the root
        var dependencies: [String] = []
        for dependency in manifest.depends ?? [] {
            let dependencySource: RuntimeSource
            do {
                dependencySource = try RuntimeSource(parsing: dependency.source, relativeTo: checkout.path)
            } catch let error as RuntimeError {
                throw RuntimeError(error.code, "a dependency of \(serviceName): \(error.detail)")
            }
            dependencies.append(try await visit(dependencySource, name: nil, fetcher: fetcher, graph: &graph, bySource: &bySource))
        }
        entries[serviceName]?.dependencies = dependencies
        graph.add(serviceName, dependsOn: dependencies)
        return serviceName
    }
}
