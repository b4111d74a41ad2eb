import MicroCore

/// Extra `GET` paths a router carries for the HTTP transport (`/metrics` for a Prometheus exporter),
/// answered on the service's own port beside `/health`.
enum HTTPGetRoutes: ExtensionKey {
    typealias Value = [String: @Sendable () async -> HTTPGetResponse]
}

extension Router {
    /// Answers `GET path` (and `HEAD`) on the service's HTTP port with `body`'s response — an exporter's
    /// page, say. `/health` and its sub-paths stay the router's own.
    public func serveHTTP(get path: String, _ body: @escaping @Sendable () async -> HTTPGetResponse) {
        updateExtensions { $0[HTTPGetRoutes.self, default: [:]][path] = body }
    }
}

extension Extensions {
    subscript<Key: ExtensionKey>(_ key: Key.Type, default value: @autoclosure () -> Key.Value) -> Key.Value {
        get { self[key] ?? value() }
        set { self[key] = newValue }
    }
}
