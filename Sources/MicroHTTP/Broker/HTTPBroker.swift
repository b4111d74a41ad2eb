import Foundation
import Logging
import MicroAddress
import MicroCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// go-micro's HTTP broker: each subscriber registers as service `micro.http.broker` (version = its
/// queue, `ff.http.broadcast` for none) and receives `POST /?id=<node-id>` with the JSON message;
/// a publish goes to every broadcast node and to one node of each queue group, trying another on failure.
public final class HTTPBroker: Broker {
    public let name = "http"
    /// The service name subscribers register under.
    public static let serviceName = "micro.http.broker"
    /// The version (queue) of subscribers that take every message.
    public static let broadcastQueue = "ff.http.broadcast"

    private let registry: any Registry
    private let bindAddress: String
    private let configuration: HTTPTransportConfiguration
    private let registerTTL: Duration
    private let registerInterval: Duration
    private let logger: Logger
    private let client: HTTPClientTransport
    private let brokerID = UUID().uuidString.lowercased()

    struct Subscriber: Sendable {
        let topic: String
        let queue: String?
        let record: ServiceRecord
        let handler: @Sendable (BrokerEvent) async throws -> Void
    }

    private struct State {
        var server: HTTPServer?
        var subscribers: [String: Subscriber] = [:]
        var closed = false
    }

    private let state = NIOLockedValueBox(State())
    /// The subscribers' heartbeat.
    private let heartbeats = OwnedTasks()
    /// The delivery server's `run`, which ends once the server has shut down.
    private let serving = OwnedTasks()
    private let startLock = NIOLock()

    /// A broker that finds subscribers through `registry` and, once something subscribes, listens on `address`.
    public init(registry: any Registry, address: String = "127.0.0.1:0", configuration: HTTPTransportConfiguration = HTTPTransportConfiguration(),
                registerTTL: Duration = .seconds(90), registerInterval: Duration = .seconds(30), logger: Logger = Logger(label: "micro.broker.http")) {
        self.registry = registry
        self.bindAddress = address
        self.configuration = configuration
        self.registerTTL = registerTTL
        self.registerInterval = registerInterval
        self.logger = logger
        self.client = HTTPClientTransport(configuration: configuration)
    }

    /// The address subscribers are served on, once listening.
    public var address: String? { state.withLockedValue { $0.server?.address } }

    // MARK: Publish

    public func publish(_ topic: String, _ message: BrokerMessage) async throws {
        var message = message
        message.header["Micro-Topic"] = topic
        let body = ByteBuffer(data: try Self.encoder.encode(message))
        let records = try await registry.getService(Self.serviceName)
        var failures: [String] = []
        for record in records {
            let nodes = record.nodes.filter { $0.metadata["topic"] == topic }
            guard !nodes.isEmpty else { continue }
            if record.version == Self.broadcastQueue {
                for node in nodes {
                    do { try await deliver(body, to: node) } catch { failures.append("\(node.id): \(error)") }
                }
            } else {
                // One member of the group takes it; a member that fails hands it to the next. Only a
                // group in which no member took the message is a failure.
                var attempts: [String] = []
                var delivered = false
                for node in nodes.shuffled() {
                    do { try await deliver(body, to: node); delivered = true; break } catch {
                        attempts.append("\(node.id): \(error)")
                    }
                }
                if !delivered { failures += attempts }
            }
        }
        if !failures.isEmpty {
            throw MicroError.internalServerError("go.micro.broker", "publish to \(topic) failed for \(failures.count) subscriber(s): \(failures.joined(separator: "; "))")
        }
    }

    private func deliver(_ body: ByteBuffer, to node: Node) async throws {
        let host = try HostPort.transportAddress(node.address).host
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        let id = Self.queryEscape(node.id)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/?id=\(id)", headers: headers)
        let reply = try await client.roundTrip(head, body: body, to: node.address, deadline: .now() + .seconds(10), what: "broker delivery")
        guard reply.status == .ok else {
            throw MicroError.parse(String(buffer: reply.body).isEmpty ? reply.status.reasonPhrase : String(buffer: reply.body))
        }
    }

    /// Shared coders: configured once, safe to use concurrently.
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    /// A node id as a query value; ids of plain characters (the usual case) pass through untouched.
    static func queryEscape(_ id: String) -> String {
        let plain = id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F
        }
        if plain { return id }
        return id.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? id
    }

    /// The `id` query value of a request URI (`/?id=...`), percent-decoded.
    static func queryID(_ uri: String) -> String {
        guard let q = uri.firstIndex(of: "?") else { return "" }
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            if pair.hasPrefix("id=") {
                let raw = String(pair.dropFirst(3))
                return raw.removingPercentEncoding ?? raw
            }
        }
        return ""
    }

    // MARK: Subscribe

    public func subscribe(_ topic: String, queue: String?, handler: @escaping @Sendable (BrokerEvent) async throws -> Void) async throws -> any BrokerSubscription {
        let server = try await startServer()
        let nodeID = "\(topic)-\(brokerID)-\(UUID().uuidString.prefix(8).lowercased())"
        let record = ServiceRecord(name: Self.serviceName, version: queue ?? Self.broadcastQueue, nodes: [
            Node(id: nodeID, address: server.address, metadata: ["secure": "false", "broker": "http", "topic": topic]),
        ])
        state.withLockedValue { $0.subscribers[nodeID] = Subscriber(topic: topic, queue: queue, record: record, handler: handler) }
        try await registry.register(record, ttl: registerTTL)
        return HTTPBrokerSubscription(topic: topic, queue: queue) { [weak self] in
            guard let self else { return }
            let sub = self.state.withLockedValue { $0.subscribers.removeValue(forKey: nodeID) }
            if let sub { try await self.registry.deregister(sub.record) }
        }
    }

    func subscriber(_ id: String) -> Subscriber? { state.withLockedValue { $0.subscribers[id] } }

    private func startServer() async throws -> HTTPServer {
        if let s = state.withLockedValue({ $0.server }) { return s }
        let bind = try HostPort.transportAddress(bindAddress)
        let server = try await HTTPServer.bind(host: bind.host, port: bind.port, configuration: configuration,
                                               responder: BrokerResponder(broker: self), logger: logger)
        let winner: HTTPServer? = state.withLockedValue { s in
            if s.closed { return nil }
            if let existing = s.server { return existing }
            s.server = server
            return server
        }
        guard let winner else {
            await server.shutdown(gracePeriod: .zero)
            throw TransportError(.shutdown, address: bindAddress, detail: "broker is shut down")
        }
        if winner !== server {
            await server.shutdown(gracePeriod: .zero)
        } else {
            serving.spawn { await server.run() }
            heartbeats.spawn { [weak self] in await self?.heartbeat() }
        }
        return winner
    }

    private func heartbeat() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: registerInterval)
            if Task.isCancelled { return }
            for sub in state.withLockedValue({ Array($0.subscribers.values) }) {
                do { try await registry.register(sub.record, ttl: registerTTL) } catch {
                    logger.warning("re-register of subscriber failed", metadata: ["topic": "\(sub.topic)", "error": "\(error)"])
                }
            }
        }
    }

    public func shutdown() async {
        let (server, subs) = state.withLockedValue { s -> (HTTPServer?, [Subscriber]) in
            s.closed = true
            let r = (s.server, Array(s.subscribers.values))
            s.server = nil
            s.subscribers = [:]
            return r
        }
        await heartbeats.close()
        for sub in subs { try? await registry.deregister(sub.record) }
        await server?.shutdown(gracePeriod: .seconds(2))
        await serving.close()
        await client.shutdown()
    }
}

struct HTTPBrokerSubscription: BrokerSubscription {
    let topic: String
    let queue: String?
    let remove: @Sendable () async throws -> Void
    func unsubscribe() async throws { try await remove() }
}

/// Serves deliveries: `POST /?id=<node-id>` with go-micro's JSON message.
struct BrokerResponder: HTTPResponder {
    weak var broker: HTTPBroker?

    func streamPlan(for head: HTTPRequestHead) -> StreamPlan? { nil }

    func refusal(_ error: MicroError, for head: HTTPRequestHead) -> HTTPFullResponse {
        reply(error, HTTPResponseStatus(statusCode: Int(error.code)))
    }

    func respondStreaming(_ head: HTTPRequestHead, peerIdentity: String?, inbound: MessageReader, outbound: MessageWriter) async -> MicroError? {
        .badRequest("go.micro.broker", "streams are not served here")
    }

    func respond(_ head: HTTPRequestHead, body: ByteBuffer, peerIdentity: String?) async -> HTTPFullResponse {
        guard head.method == .POST else { return reply(.methodNotAllowed("go.micro.broker", "use POST"), .methodNotAllowed) }
        let id = HTTPBroker.queryID(head.uri)
        guard let broker, let sub = broker.subscriber(id) else {
            return reply(.notFound("go.micro.broker", "no subscriber \(id)"), .notFound)
        }
        let message: BrokerMessage
        do { message = try HTTPBroker.decoder.decode(BrokerMessage.self, from: body) } catch {
            return reply(.badRequest("go.micro.broker", "malformed broker message: \(error)"), .badRequest)
        }
        let topic = message.header("Micro-Topic") ?? sub.topic
        guard topic == sub.topic else { return reply(.badRequest("go.micro.broker", "topic \(topic) is not \(sub.topic)"), .badRequest) }
        do {
            try await sub.handler(BrokerEvent(topic: topic, message: message))
            return HTTPFullResponse(status: .ok, headers: HTTPHeaders(), body: ByteBuffer())
        } catch {
            return reply(MicroError.from(error, id: "go.micro.broker"), .internalServerError)
        }
    }

    private func reply(_ e: MicroError, _ status: HTTPResponseStatus) -> HTTPFullResponse {
        var h = HTTPHeaders()
        h.add(name: "Content-Type", value: "application/json")
        return HTTPFullResponse(status: status, headers: h, body: ByteBuffer(string: e.json))
    }
}
