import MicroCore

/// Calls a runtime service (`micro runtime`) over RPC: what `micro run`, `ps`, `logs`, `kill` and
/// `update` do.
public struct RuntimeClient: Sendable {
    /// The client calls go through.
    public let client: Client
    /// The runtime service's name (default ``RuntimeHandler/serviceName``).
    public let service: String
    /// Options for quick calls (list, delete, logs).
    public let options: CallOptions

    /// A client of the runtime service `service`.
    public init(client: Client, service: String = RuntimeHandler.serviceName, options: CallOptions = CallOptions()) {
        self.client = client
        self.service = service
        self.options = options
    }

    /// Runs `source` (`SOURCE[@REF]`, a local path absolute) as `name` (default: the manifest's), as
    /// `kind` says (default: each manifest's `runtime`, else a process); the services started,
    /// dependencies first. `timeout` covers fetching the sources.
    public func create(source: String, name: String? = nil, kind: RuntimeKind? = nil, timeout: Duration) async throws -> [String] {
        var options = self.options
        options.timeout = timeout
        options.retries = 0
        let request = RuntimeCreateRequest(service: RuntimeWireService(name: name, version: nil, source: source, metadata: nil),
                                           options: kind.map { RuntimeCreateOptions(runtime: $0.rawValue) })
        return try await client.call(service, "Runtime.Create", request, as: RuntimeCreateResponse.self, options: options).services ?? []
    }

    /// The services the runtime runs, or the one named.
    public func list(_ name: String? = nil) async throws -> [RuntimeServiceStatus] {
        let request = RuntimeReadRequest(options: RuntimeReadOptions(service: name, version: nil, type: nil))
        return try await client.call(service, "Runtime.Read", request, as: RuntimeReadResponse.self, options: options).services ?? []
    }

    /// Rebuilds `name` and replaces its process once the new one is healthy; `timeout` covers the build.
    public func update(_ name: String, timeout: Duration) async throws {
        var options = self.options
        options.timeout = timeout
        options.retries = 0
        let request = RuntimeUpdateRequest(service: RuntimeWireService(name: name, version: nil, source: nil, metadata: nil))
        _ = try await client.call(service, "Runtime.Update", request, as: RuntimeEmptyResponse.self, options: options)
    }

    /// Stops `name` and removes it from the runtime.
    public func delete(_ name: String, timeout: Duration) async throws {
        var options = self.options
        options.timeout = timeout
        options.retries = 0
        let request = RuntimeDeleteRequest(service: RuntimeWireService(name: name, version: nil, source: nil, metadata: nil))
        _ = try await client.call(service, "Runtime.Delete", request, as: RuntimeEmptyResponse.self, options: options)
    }

    /// `name`'s last `count` log lines, then (with `follow`) each new one as it is written, to `body`.
    public func logs(_ name: String, count: Int, follow: Bool, _ body: (String) async throws -> Void) async throws {
        var options = self.options
        if follow { options.streamTimeout = nil }
        let request = RuntimeLogsRequest(service: name, stream: follow, count: Int64(count))
        for try await record in client.stream(service, "Runtime.Logs", request, of: RuntimeLogRecord.self, options: options) {
            try await body(record.message)
        }
    }
}
