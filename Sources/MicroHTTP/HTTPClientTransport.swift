import MicroAddress
import MicroCore
import NIOCore
import NIOHTTP1

/// The calling side of the HTTP transport: pooled keep-alive connections, go-micro's mucp headers,
/// deadlines enforced by closing the connection, message size limits both ways.
public final class HTTPClientTransport: ClientTransport {
    public let protocolName = "mucp"
    /// Limits and timeouts.
    public let configuration: HTTPTransportConfiguration
    private let pool: HTTPConnectionPool

    /// A client transport with the given limits.
    public init(configuration: HTTPTransportConfiguration = HTTPTransportConfiguration()) {
        self.configuration = configuration
        self.pool = HTTPConnectionPool(configuration: configuration)
    }

    public func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse {
        guard request.body.readableBytes <= configuration.maxMessageSize else {
            throw MicroError.tooLarge("go.micro.client", "request of \(request.body.readableBytes) bytes exceeds the limit of \(configuration.maxMessageSize) bytes")
        }
        let reply = try await roundTrip(body: request.body, to: address, deadline: request.deadline,
                                        what: "\(request.service) \(request.endpoint)") { host in
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: MucpHeaders.headers(for: request, host: host))
            head.headers.add(name: "Content-Length", value: String(request.body.readableBytes))
            return head
        }
        return try Self.response(status: reply.status, headers: reply.headers, body: reply.body, address: address)
    }

    /// Sends one whole request over a pooled connection and reads the whole response (bounded);
    /// `head` makes the request's head for the connection's host. A pooled connection that the
    /// server had closed is replaced once by a fresh one. `what` names the call in a timeout's error.
    func roundTrip(body: ByteBuffer, to address: String, deadline: NIODeadline?, what: @autoclosure () -> String,
                   head: (_ host: String) -> HTTPRequestHead) async throws -> HTTPReply {
        var retriedStale = false
        while true {
            let connection = try await pool.acquire(address)
            let reused = connection.uses > 0
            do {
                return try await exchange(head(connection.host), body: body, on: connection, deadline: deadline, what: what())
            } catch let e as StaleConnection {
                if reused && !retriedStale { retriedStale = true; continue }
                throw TransportError(.connectionClosed, address: address, detail: "\(e.underlying)")
            }
        }
    }

    struct StaleConnection: Error { let underlying: any Error }

    private func exchange(_ head: HTTPRequestHead, body requestBody: ByteBuffer, on connection: HTTPConnection,
                          deadline: NIODeadline?, what: @autoclosure () -> String) async throws -> HTTPReply {
        let address = connection.address
        if let d = deadline, d <= .now() {
            pool.release(connection, reusable: true)
            throw TransportError(.timeout, address: address, detail: "deadline exceeded before sending")
        }
        connection.uses += 1
        do {
            let reply = try await connection.exchange(head, body: requestBody, deadline: deadline, maxBodySize: configuration.maxMessageSize)
            pool.release(connection, reusable: reply.keepAlive)
            return reply
        } catch {
            connection.close()
            if case .timedOut = error as? ExchangeFailure {
                throw TransportError(.timeout, address: address, detail: "deadline exceeded waiting for \(what())")
            }
            if Task.isCancelled { throw CancellationError() }
            switch error as? ExchangeFailure {
            case .closedBeforeAnswer(let underlying): throw StaleConnection(underlying: underlying)
            case .closed(let underlying):
                throw TransportError(.connectionClosed, address: address, detail: (underlying as? TransportError)?.detail ?? "\(underlying)")
            case .busy: throw TransportError(.connectionClosed, address: address, detail: "connection already in use")
            case .timedOut, nil: throw error
            }
        }
    }

    static func response(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, address: String) throws -> RPCResponse {
        if let e = headers.first(name: "Micro-Error") ?? headers.first(name: "X-Micro-Error"), !e.isEmpty {
            throw MicroError.parse(e)
        }
        guard status == .ok else { throw statusError(status, body: body) }
        var metadata = Metadata()
        let reserved = RPCHeaders.reserved
        for (k, v) in headers {
            let key = k.lowercased()
            if !reserved.contains(key) { metadata[key] = v }
        }
        return RPCResponse(contentType: headers.first(name: "Content-Type") ?? "application/json", metadata: metadata, body: body)
    }

    /// The error a non-200 answer stands for: the MicroError in its body, else its status.
    static func statusError(_ status: HTTPResponseStatus, body: ByteBuffer) -> MicroError {
        let text = String(buffer: body)
        var e = MicroError.parse(text.isEmpty ? status.reasonPhrase : text)
        if e.code == 500 && text.isEmpty { e.code = Int32(status.code) }
        return e
    }

    public func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel {
        let connection = try await pool.dedicated(address)
        let headers = MucpHeaders.headers(for: request, host: connection.host)
        if !configuration.http2 {
            // HTTP/1.1 speaks go-micro's form, which go-micro's servers understand; over HTTP/2 a stream
            // is one request whose bodies carry frames each way.
            return try await MucpStreamChannel.open(headers, on: connection, maxMessageSize: configuration.maxMessageSize, deadline: request.deadline)
        }
        do {
            try await connection.write(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: headers)))
        } catch {
            connection.close()
            throw TransportError(.connectFailed, address: address, detail: "\(error)")
        }
        return HTTPStreamChannel(connection: connection, maxMessageSize: configuration.maxMessageSize, deadline: request.deadline)
    }

    public func shutdown() async {
        pool.shutdown()
    }
}
