import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A minimal Consul agent (single server agent of datacenter `dc1`) on 127.0.0.1, written from
/// Consul's HTTP API documentation: it serves only what go-micro's registry uses and checks each
/// request's shape like Consul does, plus a little stricter (unknown registration fields are refused).
///
/// - `PUT /v1/agent/service/register`: JSON `{ID, Name, Tags, Address, Port, Meta, Check, Checks, ...}`;
///   a `Check` with `TTL` becomes check `service:<ID>`, initially `critical` (Consul's default for TTL
///   checks); re-registering keeps a check's status.
/// - `PUT /v1/agent/check/pass/<check id>?note=`: the check becomes `passing` for another TTL; 404 for an
///   unknown id. A TTL check not passed within its TTL turns `critical` ("TTL expired"); a service whose
///   check stayed critical for `DeregisterCriticalServiceAfter` is removed.
/// - `PUT /v1/agent/service/deregister/<id>`: removes it; 404 for an unknown id.
/// - `GET /v1/health/service/<name>` (`passing` filters out instances with a non-passing check) and
///   `GET /v1/catalog/services`, `GET|PUT|DELETE /v1/kv/<key>` (`?recurse`): blocking queries with `index` and `wait` (held until the resource's
///   index passes `index` or `wait` passes, at most 10 min), `X-Consul-Index` on every answer; `dc`
///   other than `dc1` answers 500 "No path to datacenter".
/// - An ACL token, when required, must come in `X-Consul-Token` (else 403 "ACL not found").
///
/// Every request is recorded; faults can be injected per path prefix.
public final class ConsulFixtureAgent: Sendable {
    /// A request as it arrived.
    public struct Request: Sendable, CustomStringConvertible {
        public var method: String
        /// The decoded path.
        public var path: String
        /// The request target as sent.
        public var rawURI: String
        /// Decoded query items in order (a bare flag has value "").
        public var query: [(String, String)]
        /// Header fields as sent.
        public var headers: [(String, String)]
        /// The body.
        public var body: [UInt8]

        /// The first value of a header, by case-insensitive name.
        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        /// The first value of a query parameter.
        public func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
        public var description: String { "\(method) \(rawURI)" }
    }

    /// A misbehaviour for requests whose path starts with a prefix.
    public enum Fault: Sendable {
        /// Answer this status with this text body.
        case status(Int, String)
        /// Answer 200 with a body that is not JSON.
        case malformedJSON
        /// Answer 200 with a body of this many bytes.
        case oversized(Int)
        /// Answer 200 without an `X-Consul-Index` header.
        case noIndex
        /// Close the connection without answering.
        case close
        /// Never answer (until the client gives up).
        case hang
    }

    /// A service's TTL check.
    public struct Check: Sendable {
        public var ttl: Duration?
        public var deregisterAfter: Duration?
        public var status: String
        public var output: String
        public var expires: ContinuousClock.Instant?
        public var criticalSince: ContinuousClock.Instant?
    }

    /// A registered service instance.
    public struct Service: Sendable {
        public var id: String
        public var name: String
        public var tags: [String]
        public var address: String
        public var port: Int
        public var meta: [String: String]
        public var check: Check?
        public var createIndex: UInt64
        public var modifyIndex: UInt64
    }

    private struct State {
        var services: [String: Service] = [:]
        var index: UInt64 = 10
        var catalogIndex: UInt64 = 10
        var serviceIndex: [String: UInt64] = [:]
        var requests: [Request] = []
        var faults: [(prefix: String, fault: Fault, remaining: Int)] = []
        var kv: [String: (value: [UInt8], createIndex: UInt64, modifyIndex: UInt64)] = [:]
        var kvIndex: UInt64 = 10
    }

    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// The token every request must carry, if any.
    public let requiredToken: String?
    private let state = Mutex(State())
    private let channel: any Channel
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    private let handlers = Mutex<[Task<Void, Never>]>([])

    /// `127.0.0.1:<port>`.
    public var address: String { "127.0.0.1:\(port)" }

    /// Starts the agent on a free loopback port.
    public init(requiredToken: String? = nil) async throws {
        self.requiredToken = requiredToken
        let box = WeakAgent()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    box.agent?.noteConnection()
                    try ch.pipeline.syncOperations.addHandler(FixtureHTTPHandler(agent: { box.agent }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        box.agent = self
        ticker.withLock { $0 = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
                self?.tick()
            }
        } }
    }

    /// Stops listening and ends background work.
    public func stop() async {
        let t = ticker.withLock { t -> Task<Void, Never>? in defer { t = nil }; return t }
        t?.cancel()
        await t?.value
        try? await channel.close()
        let pending = handlers.withLock { $0 }
        for h in pending { h.cancel() }
    }

    // MARK: Test controls

    /// Every request so far.
    public var requests: [Request] { state.withLock { $0.requests } }

    /// Forgets the recorded requests.
    public func clearRequests() { state.withLock { $0.requests = [] } }

    /// Makes the next `times` requests whose path starts with `prefix` misbehave.
    public func inject(_ fault: Fault, path prefix: String, times: Int = 1) {
        state.withLock { $0.faults.append((prefix, fault, times)) }
    }

    /// Drops faults not yet used.
    public func clearFaults() { state.withLock { $0.faults = [] } }

    /// The registered services (the agent's local state).
    public var services: [String: Service] { state.withLock { $0.services } }

    /// Forgets every service, as an agent restarted without its state would.
    public func forgetAll() {
        state.withLock { s in
            let names = Set(s.services.values.map(\.name))
            s.services = [:]
            s.index += 1
            s.catalogIndex = s.index
            for n in names { s.serviceIndex[n] = s.index }
        }
    }

    /// The current raft index.
    public var index: UInt64 { state.withLock { $0.index } }

    // MARK: Model

    private func tick() {
        let now = ContinuousClock.now
        state.withLock { s in
            for (id, var svc) in s.services {
                guard var check = svc.check else { continue }
                if check.status != "critical", let e = check.expires, e <= now {
                    check.status = "critical"
                    check.output = "TTL expired"
                    check.criticalSince = now
                    svc.check = check
                    s.services[id] = svc
                    bump(&s, service: svc.name, catalog: false)
                }
                if check.status == "critical", let since = check.criticalSince, let after = check.deregisterAfter, now - since >= after {
                    s.services[id] = nil
                    bump(&s, service: svc.name, catalog: true)
                }
            }
        }
    }

    private func bump(_ s: inout State, service: String, catalog: Bool) {
        s.index += 1
        s.serviceIndex[service] = s.index
        if catalog { s.catalogIndex = s.index }
    }

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
        var headers: [(String, String)] = []
        var close = false
        var hang = false

        static func text(_ status: Int, _ s: String) -> Response {
            Response(status: status, body: Array(s.utf8), headers: [("Content-Type", "text/plain; charset=utf-8")])
        }
    }

    /// Answers one request.
    func respond(_ request: Request) async -> Response {
        let fault = state.withLock { s -> Fault? in
            s.requests.append(request)
            guard let i = s.faults.firstIndex(where: { request.path.hasPrefix($0.prefix) }) else { return nil }
            let f = s.faults[i].fault
            s.faults[i].remaining -= 1
            if s.faults[i].remaining <= 0 { s.faults.remove(at: i) }
            return f
        }
        switch fault {
        case .status(let code, let text)?: return .text(code, text)
        case .malformedJSON?: return Response(status: 200, body: Array(#"[{"Node": {"Node": "n1"}, "Service": "#.utf8), headers: indexHeaders(index))
        case .oversized(let n)?: return Response(status: 200, body: [UInt8](repeating: UInt8(ascii: " "), count: n), headers: indexHeaders(index))
        case .noIndex?: return Response(status: 200, body: Array("[]".utf8), headers: [("Content-Type", "application/json")])
        case .close?: return Response(status: 200, body: [], close: true)
        case .hang?: return Response(status: 200, body: [], hang: true)
        case nil: break
        }
        if let requiredToken, request.header("X-Consul-Token") != requiredToken {
            return .text(403, "ACL not found")
        }
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // Paths: "", "v1", ...
        guard segments.count >= 3, segments[0].isEmpty, segments[1] == "v1" else { return .text(404, "") }
        let route = Array(segments[2...])
        let m = request.method
        if route.first == "kv" { return await keyValue(m, key: route.dropFirst().joined(separator: "/"), request) }
        if m != "GET" && m != "PUT" { return .text(405, "method \(m) not allowed") }
        if m == "PUT", route == ["agent", "service", "register"] { return register(request) }
        if m == "PUT", route.count == 4, Array(route[0..<3]) == ["agent", "service", "deregister"] { return deregister(route[3]) }
        if m == "PUT", route.count == 4, Array(route[0..<3]) == ["agent", "check", "pass"] { return pass(route[3], note: request.queryValue("note")) }
        if m == "GET", route.count == 3, Array(route[0..<2]) == ["health", "service"] { return await health(route[2], request) }
        if m == "GET", route == ["catalog", "services"] { return await catalog(request) }
        return .text(404, "")
    }

    private func indexHeaders(_ index: UInt64) -> [(String, String)] {
        [("Content-Type", "application/json"), ("X-Consul-Index", String(index)),
         ("X-Consul-KnownLeader", "true"), ("X-Consul-LastContact", "0")]
    }

    private static let registrationFields: Set<String> = [
        "ID", "Name", "Tags", "Address", "Port", "Meta", "Check", "Checks", "Kind", "TaggedAddresses",
        "EnableTagOverride", "Weights", "Proxy", "Connect", "Namespace",
    ]

    /// The documented registration fields this model reads.
    private struct Registration: Decodable {
        struct CheckDefinition: Decodable {
            var TTL: String?
            var DeregisterCriticalServiceAfter: String?
        }
        var ID: String?
        var Name: String?
        var Tags: [String]?
        var Address: String?
        var Port: Int?
        var Meta: [String: String]?
        var Check: CheckDefinition?
        var Checks: [CheckDefinition]?
    }

    private func register(_ request: Request) -> Response {
        guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return .text(400, "Request decode failed: invalid JSON")
        }
        if let unknown = object.keys.first(where: { !Self.registrationFields.contains($0) }) {
            return .text(400, "Request decode failed: unknown field \"\(unknown)\"")
        }
        let r: Registration
        do { r = try JSONDecoder().decode(Registration.self, from: Data(request.body)) } catch {
            return .text(400, "Request decode failed: \(error)")
        }
        guard let name = r.Name, !name.isEmpty else { return .text(400, "Missing service name") }
        let id = (r.ID?.isEmpty == false ? r.ID : nil) ?? name
        let tags = r.Tags ?? []
        let address = r.Address ?? ""
        let port = r.Port ?? 0
        let meta = r.Meta ?? [:]
        if let problem = Self.validateMeta(meta) { return .text(400, "Invalid Service Meta: \(problem)") }
        var check: Check?
        if let c = r.Check {
            guard let t = c.TTL, let ttl = Self.parseDuration(t), ttl > .zero else { return .text(400, "Invalid check: only TTL checks are modelled") }
            var after: Duration?
            if let t = c.DeregisterCriticalServiceAfter {
                guard let d = Self.parseDuration(t) else { return .text(400, "Invalid check: DeregisterCriticalServiceAfter \(t)") }
                after = d
            }
            check = Check(ttl: ttl, deregisterAfter: after, status: "critical", output: "", expires: nil, criticalSince: .now)
        }
        if let list = r.Checks, !list.isEmpty { return .text(400, "Invalid check: Checks are not modelled") }
        state.withLock { s in
            let old = s.services[id]
            if var c = check, let oc = old?.check {
                // The agent keeps a re-registered check's state.
                c.status = oc.status
                c.output = oc.output
                c.expires = oc.expires
                c.criticalSince = oc.criticalSince
                check = c
            }
            var svc = Service(id: id, name: name, tags: tags, address: address, port: port, meta: meta, check: check,
                              createIndex: old?.createIndex ?? 0, modifyIndex: old?.modifyIndex ?? 0)
            let changed = old.map { o in
                o.name != name || o.tags != tags || o.address != address || o.port != port || o.meta != meta
                    || o.check?.ttl != check?.ttl || o.check?.deregisterAfter != check?.deregisterAfter
                    || (o.check == nil) != (check == nil)
            } ?? true
            if changed {
                bump(&s, service: name, catalog: true)
                if let o = old, o.name != name { s.serviceIndex[o.name] = s.index }
                svc.modifyIndex = s.index
                if old == nil { svc.createIndex = s.index }
            }
            s.services[id] = svc
        }
        return Response(status: 200, body: [])
    }

    /// Consul's service meta rules: at most 64 pairs, keys of `[A-Za-z0-9_-]` up to 128 characters not
    /// starting with `consul-`, values up to 512 characters.
    static func validateMeta(_ meta: [String: String]) -> String? {
        if meta.count > 64 { return "too many pairs" }
        for (k, v) in meta {
            if k.isEmpty || k.count > 128 { return "key length" }
            if k.hasPrefix("consul-") { return "reserved key prefix" }
            if !k.unicodeScalars.allSatisfy({ ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "-" }) {
                return "key contains invalid characters"
            }
            if v.count > 512 { return "value length" }
        }
        return nil
    }

    private func deregister(_ id: String) -> Response {
        let found = state.withLock { s -> Bool in
            guard let svc = s.services.removeValue(forKey: id) else { return false }
            bump(&s, service: svc.name, catalog: true)
            return true
        }
        return found ? Response(status: 200, body: []) : .text(404, "Unknown service ID \"\(id)\"")
    }

    private func pass(_ checkID: String, note: String?) -> Response {
        guard checkID.hasPrefix("service:") else { return .text(404, "Unknown check ID \"\(checkID)\"") }
        let id = String(checkID.dropFirst("service:".count))
        let found = state.withLock { s -> Bool in
            guard var svc = s.services[id], var check = svc.check, let ttl = check.ttl else { return false }
            let changed = check.status != "passing" || check.output != (note ?? "")
            check.status = "passing"
            check.output = note ?? ""
            check.expires = .now + ttl
            check.criticalSince = nil
            svc.check = check
            s.services[id] = svc
            if changed { bump(&s, service: svc.name, catalog: false) }
            return true
        }
        return found ? Response(status: 200, body: []) : .text(404, "Unknown check ID \"\(checkID)\"")
    }

    /// Blocking-query parameters; nil plus an answer when they are malformed.
    private func blocking(_ request: Request) -> (index: UInt64, wait: Duration, error: Response?) {
        var index: UInt64 = 0
        var wait: Duration = .seconds(300)
        if let raw = request.queryValue("index") {
            guard let i = UInt64(raw) else { return (0, wait, .text(400, "Invalid index")) }
            index = i
        }
        if let raw = request.queryValue("wait") {
            guard let w = Self.parseDuration(raw) else { return (0, wait, .text(400, "Invalid wait time")) }
            wait = min(w, .seconds(600))
        }
        if let dc = request.queryValue("dc"), dc != "dc1" { return (0, wait, .text(500, "No path to datacenter")) }
        return (index, wait, nil)
    }

    private func await(index: UInt64, wait: Duration, current: () -> UInt64) async {
        guard index > 0 else { return }
        let deadline = ContinuousClock.now + wait
        while current() <= index, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func health(_ name: String, _ request: Request) async -> Response {
        let (index, wait, error) = blocking(request)
        if let error { return error }
        var passingOnly = false
        if let raw = request.queryValue("passing") {
            switch raw.lowercased() {
            case "", "1", "true", "t": passingOnly = true
            case "0", "false", "f": passingOnly = false
            default: return .text(400, "Invalid value for passing: \(raw)")
            }
        }
        let current = { self.state.withLock { s in s.serviceIndex[name] ?? s.index } }
        await self.await(index: index, wait: wait, current: current)
        let (entries, idx) = state.withLock { s -> ([[String: Any]], UInt64) in
            var list: [[String: Any]] = []
            for svc in s.services.values.sorted(by: { $0.id < $1.id }) where svc.name == name {
                var checks: [[String: Any]] = [[
                    "Node": "fixture", "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing",
                    "Notes": "", "Output": "Agent alive and reachable", "ServiceID": "", "ServiceName": "", "ServiceTags": [String](),
                    "Type": "", "CreateIndex": 1, "ModifyIndex": 1,
                ]]
                if let c = svc.check {
                    checks.append([
                        "Node": "fixture", "CheckID": "service:\(svc.id)", "Name": "Service '\(svc.name)' check", "Status": c.status,
                        "Notes": "", "Output": c.output, "ServiceID": svc.id, "ServiceName": svc.name, "ServiceTags": svc.tags,
                        "Type": "ttl", "CreateIndex": svc.createIndex, "ModifyIndex": svc.modifyIndex,
                    ])
                }
                if passingOnly && checks.contains(where: { ($0["Status"] as? String) != "passing" }) { continue }
                list.append([
                    "Node": [
                        "ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "fixture", "Address": "127.0.0.1", "Datacenter": "dc1",
                        "TaggedAddresses": ["lan": "127.0.0.1", "wan": "127.0.0.1"], "Meta": ["consul-network-segment": ""],
                        "CreateIndex": 5, "ModifyIndex": 5,
                    ] as [String: Any],
                    "Service": [
                        "ID": svc.id, "Service": svc.name, "Tags": svc.tags, "Address": svc.address, "Meta": svc.meta, "Port": svc.port,
                        "Weights": ["Passing": 1, "Warning": 1], "EnableTagOverride": false,
                        "CreateIndex": svc.createIndex, "ModifyIndex": svc.modifyIndex,
                    ] as [String: Any],
                    "Checks": checks,
                ])
            }
            return (list, s.serviceIndex[name] ?? s.index)
        }
        let body = (try? JSONSerialization.data(withJSONObject: entries)) ?? Data("[]".utf8)
        return Response(status: 200, body: Array(body), headers: indexHeaders(idx))
    }

    private func catalog(_ request: Request) async -> Response {
        let (index, wait, error) = blocking(request)
        if let error { return error }
        await self.await(index: index, wait: wait) { self.state.withLock { $0.catalogIndex } }
        let (map, idx) = state.withLock { s -> ([String: [String]], UInt64) in
            var m: [String: [String]] = ["consul": []]
            for svc in s.services.values {
                m[svc.name] = Array(Set((m[svc.name] ?? []) + svc.tags)).sorted()
            }
            return (m, s.catalogIndex)
        }
        let body = (try? JSONSerialization.data(withJSONObject: map)) ?? Data("{}".utf8)
        return Response(status: 200, body: Array(body), headers: indexHeaders(idx))
    }

    /// `/v1/kv/<key>`: GET (with `recurse`, every key under the prefix; blocking on the store's
    /// index; 404 with the index when nothing matches), PUT (the body is the value), DELETE.
    private func keyValue(_ method: String, key: String, _ request: Request) async -> Response {
        switch method {
        case "PUT":
            guard !key.isEmpty else { return .text(400, "Missing key name") }
            state.withLock { s in
                s.index += 1
                s.kvIndex = s.index
                s.kv[key] = (request.body, s.kv[key]?.createIndex ?? s.index, s.index)
            }
            return Response(status: 200, body: Array("true".utf8), headers: [("Content-Type", "application/json")])
        case "DELETE":
            state.withLock { s in
                s.index += 1
                s.kvIndex = s.index
                s.kv[key] = nil
            }
            return Response(status: 200, body: Array("true".utf8), headers: [("Content-Type", "application/json")])
        case "GET":
            let (index, wait, error) = blocking(request)
            if let error { return error }
            await self.await(index: index, wait: wait) { self.state.withLock { $0.kvIndex } }
            let recurse = request.query.contains { $0.0 == "recurse" }
            let (entries, idx) = state.withLock { s in
                (s.kv.filter { recurse ? $0.key.hasPrefix(key) : $0.key == key }.sorted { $0.key < $1.key }, s.kvIndex)
            }
            guard !entries.isEmpty else { return Response(status: 404, body: [], headers: indexHeaders(idx)) }
            let list: [[String: Any]] = entries.map { k, v in
                ["Key": k, "Value": Data(v.value).base64EncodedString(), "CreateIndex": v.createIndex, "ModifyIndex": v.modifyIndex,
                 "LockIndex": 0, "Flags": 0]
            }
            let body = (try? JSONSerialization.data(withJSONObject: list)) ?? Data("[]".utf8)
            return Response(status: 200, body: Array(body), headers: indexHeaders(idx))
        default:
            return .text(405, "method \(method) not allowed")
        }
    }

    /// Go's duration syntax (`10s`, `1m5s`, `1.5h`, `250ms`).
    static func parseDuration(_ text: String) -> Duration? {
        var s = Substring(text)
        if s == "0" { return .zero }
        guard !s.isEmpty else { return nil }
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix { !($0.isNumber || $0 == ".") }
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += value * scale
        }
        return .nanoseconds(Int64(total * 1e9))
    }

    private let accepted = Mutex(0)

    /// Connections accepted so far.
    public var connectionsAccepted: Int { accepted.withLock { $0 } }

    fileprivate func noteConnection() { accepted.withLock { $0 += 1 } }

    fileprivate func track(_ task: Task<Void, Never>) {
        handlers.withLock { list in
            list.removeAll { $0.isCancelled }
            list.append(task)
        }
    }
}

/// Collects a request, lets the agent answer it off the event loop, writes the answer.
private final class FixtureHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let agent: @Sendable () -> ConsulFixtureAgent?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(agent: @escaping @Sendable () -> ConsulFixtureAgent?) {
        self.agent = agent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let b):
            body += b.readableBytesView
        case .end:
            guard let h = head, let agent = agent() else { return }
            let (path, query) = Self.split(h.uri)
            let request = ConsulFixtureAgent.Request(method: h.method.rawValue, path: path, rawURI: h.uri, query: query,
                                                     headers: h.headers.map { ($0.name, $0.value) }, body: body)
            let keepAlive = h.isKeepAlive
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let task = Task {
                let response = await agent.respond(request)
                loop.execute {
                    let context = bound.value
                    if response.hang { return }
                    if response.close { context.close(promise: nil); return }
                    var headers = HTTPHeaders(response.headers)
                    headers.add(name: "Content-Length", value: String(response.body.count))
                    if !keepAlive { headers.add(name: "Connection", value: "close") }
                    context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers))), promise: nil)
                    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
                    let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
                    if !keepAlive { done.whenComplete { _ in bound.value.close(promise: nil) } }
                }
            }
            agent.track(task)
        }
    }

    /// Splits a request target into its decoded path and query items.
    static func split(_ uri: String) -> (String, [(String, String)]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        var items: [(String, String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
                items.append((decode(kv[0]), kv.count > 1 ? decode(kv[1]) : ""))
            }
        }
        return (path, items)
    }
}

/// The agent, set once it is built (the server's child channels look it up).
private final class WeakAgent: Sendable {
    private let box = Mutex<ConsulFixtureAgent?>(nil)
    var agent: ConsulFixtureAgent? {
        get { box.withLock { $0 } }
        set { box.withLock { $0 = newValue } }
    }
}
