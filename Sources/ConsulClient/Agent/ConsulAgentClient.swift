import Logging
import NIOHTTP1
import Synchronization

/// A client of the Consul agent HTTP API endpoints go-micro's registry uses, over a list of agents:
/// requests go to the agent that answered last; an agent that cannot be reached (or answers
/// 429/502/503/504) hands the request to the next one in the list. Call ``shutdown()`` when done.
public final class ConsulAgentClient: Sendable {
    /// A blocking query's answer: the body and its `X-Consul-Index`.
    public struct Indexed<Value: Sendable>: Sendable {
        /// The answer.
        public var value: Value
        /// The answer's `X-Consul-Index`, the `index` of the next blocking query.
        public var index: UInt64
    }

    /// Agents, token and timings.
    public let configuration: ConsulAgentConfiguration
    private let http: ConsulHTTPClient
    private let logger: Logger
    private let current = Mutex(0)

    /// A client of the agents in `configuration`; connects on first use.
    public init(configuration: ConsulAgentConfiguration = ConsulAgentConfiguration(), logger: Logger = Logger(label: "micro.consul")) {
        self.configuration = configuration
        self.logger = logger
        http = ConsulHTTPClient(maxBody: configuration.maxResponseBytes, maxIdlePerEndpoint: configuration.idleConnectionsPerAgent,
                                connectTimeout: configuration.connectTimeout)
    }

    /// `PUT /v1/agent/service/register`: the instance and, with a TTL, its check.
    public func register(_ registration: ConsulServiceRegistration) async throws(ConsulError) {
        _ = try await perform(ConsulHTTPRequest(method: .PUT, path: "/v1/agent/service/register", body: registration.json))
    }

    /// `PUT /v1/agent/service/deregister/<id>`.
    public func deregister(id: String) async throws(ConsulError) {
        _ = try await perform(ConsulHTTPRequest(method: .PUT, path: "/v1/agent/service/deregister/" + ConsulHTTPRequest.escape(id)))
    }

    /// `PUT /v1/agent/check/pass/service:<id>?note=` (the Go API's `PassTTL`).
    public func passTTL(serviceID: String) async throws(ConsulError) {
        _ = try await perform(ConsulHTTPRequest(method: .PUT, path: "/v1/agent/check/pass/" + ConsulHTTPRequest.escape("service:" + serviceID),
                                                query: [("note", "")]))
    }

    /// `GET /v1/health/service/<name>` (`?passing=1` when configured); blocking when `index` > 0.
    public func health(service: String, index: UInt64 = 0) async throws(ConsulError) -> Indexed<[ConsulHealthEntry]> {
        var query: [(String, String?)] = []
        if configuration.passingOnly { query.append(("passing", "1")) }
        let response = try await read("/v1/health/service/" + ConsulHTTPRequest.escape(service), query: query, index: index)
        return Indexed(value: try ConsulHealthEntry.decodeList(response.body), index: try Self.index(response))
    }

    /// `GET /v1/catalog/services`; blocking when `index` > 0.
    public func catalogServices(index: UInt64 = 0) async throws(ConsulError) -> Indexed<[String: [String]]> {
        let response = try await read("/v1/catalog/services", query: [], index: index)
        return Indexed(value: try ConsulHealthEntry.decodeCatalog(response.body), index: try Self.index(response))
    }

    // MARK: Key-value store

    /// `GET /v1/kv/<prefix>?recurse`: every key starting with `prefix` (none: an empty list, Consul's
    /// 404); blocking when `index` > 0. Values come as Consul sends them, base64-decoded.
    public func keyValues(prefix: String, index: UInt64 = 0) async throws(ConsulError) -> Indexed<[ConsulKeyValue]> {
        let response = try await read("/v1/kv/" + Self.escapeKey(prefix), query: [("recurse", nil)], index: index, accepting: 404)
        let index = try Self.index(response)
        guard response.status != 404 else { return Indexed(value: [], index: index) }
        return Indexed(value: try ConsulKeyValue.decodeList(response.body), index: index)
    }

    /// `PUT /v1/kv/<key>` with `value` as the body; true when Consul stored it.
    @discardableResult
    public func putKeyValue(_ key: String, value: [UInt8]) async throws(ConsulError) -> Bool {
        let response = try await perform(ConsulHTTPRequest(method: .PUT, path: "/v1/kv/" + Self.escapeKey(key), body: value), json: false)
        return String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "true"
    }

    /// `DELETE /v1/kv/<key>`: removes the key (no error when there was none).
    public func deleteKeyValue(_ key: String) async throws(ConsulError) {
        _ = try await perform(ConsulHTTPRequest(method: .DELETE, path: "/v1/kv/" + Self.escapeKey(key)))
    }

    /// A key with each `/`-separated segment escaped, the slashes kept.
    private static func escapeKey(_ key: String) -> String {
        key.split(separator: "/", omittingEmptySubsequences: false).map { ConsulHTTPRequest.escape(String($0)) }.joined(separator: "/")
    }

    /// Closes every connection; requests afterwards fail with ``ConsulError/Code/shutdown``.
    public func shutdown() async {
        await http.shutdown()
    }

    private func read(_ path: String, query: [(String, String?)], index: UInt64, accepting: Int? = nil) async throws(ConsulError) -> ConsulHTTPResponse {
        var query = query
        if let dc = configuration.datacenter, !dc.isEmpty { query.append(("dc", dc)) }
        if configuration.allowStale { query.append(("stale", "")) }
        var timeout = configuration.requestTimeout
        if index > 0 {
            query.append(("index", String(index)))
            let wait = min(configuration.blockingWait, .seconds(600))
            // The Go API's format for wait: whole milliseconds.
            query.append(("wait", "\(ConsulHTTPClient.nanos(wait) / 1_000_000)ms"))
            // Consul adds up to wait/16 of jitter.
            timeout = wait + wait / 16 + configuration.requestTimeout
        }
        return try await perform(ConsulHTTPRequest(method: .GET, path: path, query: query), timeout: timeout, accepting: accepting)
    }

    private static func index(_ response: ConsulHTTPResponse) throws(ConsulError) -> UInt64 {
        guard let index = response.consulIndex else {
            throw ConsulError(.invalidResponse, "answer without a numeric X-Consul-Index header", status: response.status)
        }
        return index
    }

    /// Sends to the current agent, moving along the list on failures another agent may not have; a
    /// status outside 2xx other than `accepting` is an error. `json`: the body is JSON.
    private func perform(_ request: ConsulHTTPRequest, timeout: Duration? = nil, accepting: Int? = nil,
                         json: Bool = true) async throws(ConsulError) -> ConsulHTTPResponse {
        var request = request
        if let token = configuration.token, !token.isEmpty { request.headers.append(("X-Consul-Token", token)) }
        if request.body != nil { request.headers.append(("Content-Type", json ? "application/json" : "application/octet-stream")) }
        let addresses = configuration.addresses
        guard !addresses.isEmpty else { throw ConsulError(.invalidArgument, "no Consul agent address configured") }
        let start = current.withLock { $0 } % addresses.count
        var last: ConsulError?
        for step in 0..<addresses.count {
            let i = (start + step) % addresses.count
            let endpoint = addresses[i]
            do throws(ConsulError) {
                let response = try await http.execute(request, endpoint: endpoint, timeout: timeout ?? configuration.requestTimeout)
                guard (200..<300).contains(response.status) || response.status == accepting else {
                    throw ConsulError.status(response.status, body: response.body, endpoint: endpoint)
                }
                if step > 0 { current.withLock { $0 = i } }
                return response
            } catch {
                guard error.isRetryableOnAnotherAgent, !Task.isCancelled else { throw error }
                if addresses.count > 1 {
                    logger.info("Consul agent failed, trying the next", metadata: ["agent": "\(endpoint)", "error": "\(error)"])
                }
                last = error
            }
        }
        throw last ?? ConsulError(.unavailable, "no Consul agent answered")
    }
}
