import Foundation
import HTTPTypes
import Hummingbird
import MicroCore
import NIOCore

/// `micro web`'s routes: the service list `/`, a service's page `/service/<name>` and its traces
/// `/service/<name>/trace/<id>`, the live list
/// `/events` (Server-Sent Events) and `/services.json`, the bundled `/static/app.js` and `/static/app.css`,
/// and `POST /rpc` for the call forms (JSON only, so another site's form cannot post to it).
struct DashboardResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let caller: GatewayCaller
    let feed: RegistryFeed
    let engines: DashboardPage.Engines
    /// How long a node has to answer `Debug.Health` and `Debug.Stats` while a page renders.
    let probeTimeout: Duration

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if request.method == .post {
            guard path == "/rpc" else { return HTTPAnswer.error(.notFound(GatewayCaller.errorID, "no endpoint at this path")) }
            guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
                return HTTPAnswer.error(MicroError(id: GatewayCaller.errorID, code: 415, detail: "send the request as application/json"))
            }
            do {
                let body = try await caller.readBody(request)
                let (route, message) = try RPCRequestBody.parse(body)
                return await caller.call(route, body: message, request: request)
            } catch {
                return HTTPAnswer.error(GatewayCaller.microError(error))
            }
        }
        guard request.method == .get || request.method == .head else {
            return HTTPAnswer.error(.methodNotAllowed(GatewayCaller.errorID, "method \(request.method.rawValue) not allowed"))
        }
        switch path {
        case "/", "/index.html":
            let list = (try? JSONDecoder().decode([ServiceSummary].self, from: Data(feed.latest.utf8))) ?? []
            return HTTPAnswer.html(DashboardPage.index(list, engines: engines))
        case "/events":
            return events()
        case "/services.json":
            return HTTPAnswer.json(ByteBuffer(string: feed.latest))
        case "/openapi.json":
            return await APIResponder(caller: caller).openAPI()
        default:
            break
        }
        if path.hasPrefix("/static/") {
            // Only the names compiled in: a path naming anything else (`..`, encoded or not) is a 404.
            guard let asset = DashboardAssets.asset(String(path.dropFirst("/static/".count))) else {
                return HTTPAnswer.html(DashboardPage.notFound("no such file", engines: engines), status: .notFound)
            }
            return HTTPAnswer.asset(asset.text, contentType: asset.contentType)
        }
        if path.hasPrefix("/service/"), path.hasSuffix("/logs") {
            let raw = String(path.dropFirst("/service/".count).dropLast("/logs".count))
            guard let name = raw.removingPercentEncoding, !name.isEmpty, name.utf8.count <= 256 else {
                return HTTPAnswer.error(.notFound(GatewayCaller.errorID, "no such service"))
            }
            return await logTail(name)
        }
        if path.hasPrefix("/service/"), let marker = path.range(of: "/trace/", options: .backwards) {
            let raw = String(path[path.index(path.startIndex, offsetBy: "/service/".count)..<marker.lowerBound])
            let id = String(path[marker.upperBound...])
            guard let name = raw.removingPercentEncoding, !name.isEmpty, name.utf8.count <= 256, TracePage.isTraceID(id) else {
                return HTTPAnswer.html(DashboardPage.notFound("no such trace", engines: engines), status: .notFound)
            }
            return await tracePage(name, traceID: id.lowercased())
        }
        if path.hasPrefix("/service/") {
            let raw = String(path.dropFirst("/service/".count))
            guard let name = raw.removingPercentEncoding, !name.isEmpty, name.utf8.count <= 256 else {
                return HTTPAnswer.html(DashboardPage.notFound("no such service", engines: engines), status: .notFound)
            }
            return await servicePage(name)
        }
        return HTTPAnswer.html(DashboardPage.notFound("no page at this path", engines: engines), status: .notFound)
    }

    /// The live service list: the current one, then each change, as `services` events.
    func events() -> Response {
        guard let updates = feed.listen() else {
            return HTTPAnswer.error(.unavailable(GatewayCaller.errorID, "too many listeners"))
        }
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            for await list in updates {
                try await writer.write(ByteBuffer(string: ServerSentEvent.format(event: "services", data: list)))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvent.headers, body: body)
    }

    /// The service's log as it is written: `Debug.LogStream` from each of its nodes (at most 16), the
    /// last 20 records first, as `log` events (one JSON array of records, each with its node) until the page goes.
    func logTail(_ name: String) async -> Response {
        let nodes = Array(((try? await feed.registry.getService(name)) ?? []).flatMap(\.nodes).prefix(16))
        guard !nodes.isEmpty else { return HTTPAnswer.error(.notFound(GatewayCaller.errorID, "service \(name): not found")) }
        let client = caller.client
        var options = probeOptions
        options.streamTimeout = nil
        let base = options
        let body = ResponseBody { writer in
            let (lines, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withTaskGroup(of: Void.self) { nodesGroup in
                        for node in nodes {
                            nodesGroup.addTask {
                                var options = base
                                options.filters.append(.node(node.id))
                                do {
                                    for try await batch in client.stream(name, "Debug.LogStream", DebugLogRequest(count: 20), of: LogBatch.self, options: options) {
                                        continuation.yield(ServerSentEvent.format(event: "log", data: LogLine.json(batch, node: node.id)))
                                    }
                                } catch {
                                    continuation.yield(ServerSentEvent.format(event: "failure", data: GatewayCaller.microError(error).json))
                                }
                            }
                        }
                    }
                    continuation.finish()
                }
                try await writer.write(ByteBuffer(string: "retry: 5000\n\n"))
                for await line in lines { try await writer.write(ByteBuffer(string: line)) }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvent.headers, body: body)
    }

    func servicePage(_ name: String) async -> Response {
        let records: [ServiceRecord]
        do { records = try await feed.registry.getService(name) } catch {
            return HTTPAnswer.html(DashboardPage.notFound(GatewayCaller.microError(error).detail, engines: engines), status: .badGateway)
        }
        guard !records.isEmpty else {
            return HTTPAnswer.html(DashboardPage.notFound("service \(name) is not registered", engines: engines), status: .notFound)
        }
        let nodes = Array(records.flatMap(\.nodes).prefix(64))
        async let health = nodeHealth(name, nodes)
        async let stats = serviceStats(name)
        async let traces = recentTraces(name)
        return HTTPAnswer.html(DashboardPage.service(name: name, records: records, health: await health, stats: await stats,
                                                     traces: await traces, engines: engines))
    }

    /// The service's recent traces from `Debug.Trace` on each node (the newest 200 spans of each),
    /// newest first; nil when the service has no such endpoint.
    func recentTraces(_ service: String) async -> Result<[TraceSummary], MicroError>? {
        do {
            let spans = try await traces.spans(of: service, DebugTraceRequest(count: 200), required: true)
            return .success(TraceSummary.recent(spans, limit: TracePage.maxListed))
        } catch let e as MicroError where e.code == 404 {
            return nil
        } catch {
            return .failure(GatewayCaller.microError(error))
        }
    }

    /// One trace as a waterfall: the spans of the service's nodes and of every service its spans called;
    /// 404 when none of them kept a span of it.
    func tracePage(_ service: String, traceID: String) async -> Response {
        do {
            let (spans, services) = try await traces.trace(traceID, from: service, count: DebugLimits().spans)
            guard !spans.isEmpty else {
                return HTTPAnswer.html(DashboardPage.notFound("trace \(traceID): no spans in \(services.joined(separator: ", "))", engines: engines),
                                       status: .notFound)
            }
            return HTTPAnswer.html(TracePage.trace(service: service, traceID: traceID, spans: spans, services: services, engines: engines))
        } catch {
            let e = GatewayCaller.microError(error)
            return HTTPAnswer.html(DashboardPage.notFound(e.detail, engines: engines), status: e.code == 404 ? .notFound : .badGateway)
        }
    }

    var traces: TraceGatherer { TraceGatherer(client: caller.client, options: probeOptions) }

    /// Each node's `Debug.Health` answer (asked of all at once, each bounded by ``probeTimeout``).
    func nodeHealth(_ service: String, _ nodes: [Node]) async -> [String: String] {
        await withTaskGroup(of: (String, String).self) { group in
            for node in nodes {
                group.addTask {
                    var options = probeOptions
                    options.filters.append(.node(node.id))
                    do {
                        let reply = try await caller.client.call(service, "Debug.Health", [String: String](), as: HealthResponse.self, options: options)
                        return (node.id, reply.status)
                    } catch {
                        return (node.id, "error: " + GatewayCaller.microError(error).detail)
                    }
                }
            }
            var result: [String: String] = [:]
            for await (id, status) in group { result[id] = status }
            return result
        }
    }

    /// The service's `Debug.Stats` answer as JSON text, or nil when it has no such endpoint.
    func serviceStats(_ service: String) async -> String? {
        do {
            let reply = try await caller.client.callRaw(service, "Debug.Stats", body: ByteBuffer(string: "{}"), options: probeOptions)
            guard let object = try? JSONSerialization.jsonObject(with: Data(reply.body.readableBytesView)),
                  let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else {
                return String(buffer: reply.body)
            }
            return String(decoding: pretty, as: UTF8.self)
        } catch let e as MicroError where e.code == 404 {
            return nil
        } catch {
            return "error: " + GatewayCaller.microError(error).detail
        }
    }

    var probeOptions: CallOptions {
        var options = caller.client.defaults
        options.timeout = probeTimeout
        options.retries = 0
        options.contentType = "application/json"
        return options
    }
}
