import MicroAddress
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 client for Consul agents: keep-alive connections pooled per agent, one request
/// per connection at a time, a deadline per request, bounded response bodies, and every failure a
/// ``ConsulError``. A cancelled request closes its connection.
final class ConsulHTTPClient: Sendable {
    private final class Connection: Sendable {
        let channel: any Channel
        let endpoint: String
        init(channel: any Channel, endpoint: String) {
            self.channel = channel
            self.endpoint = endpoint
        }
    }

    private struct Pool {
        var idle: [String: [Connection]] = [:]
        var open: [ObjectIdentifier: Connection] = [:]
        var closed = false
    }

    private let group: any EventLoopGroup
    private let maxBody: Int
    private let maxIdle: Int
    private let connectTimeout: Duration
    private let pool = Mutex(Pool())

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, maxBody: Int, maxIdlePerEndpoint: Int, connectTimeout: Duration) {
        self.group = group
        self.maxBody = maxBody
        self.maxIdle = maxIdlePerEndpoint
        self.connectTimeout = connectTimeout
    }

    /// Sends `request` to `endpoint` (`host:port`) and waits at most `timeout` for the whole answer.
    /// A reused connection the agent had closed meanwhile is replaced once.
    func execute(_ request: ConsulHTTPRequest, endpoint: String, timeout: Duration) async throws(ConsulError) -> ConsulHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        var attempt = 0
        while true {
            attempt += 1
            let (connection, reused) = try await connection(to: endpoint, deadline: deadline)
            do {
                let response = try await send(request, on: connection, deadline: deadline)
                if response.keepAlive { release(connection) } else { discard(connection) }
                return response
            } catch ConsulTransportFailure.closed(answered: false) where reused && attempt == 1 && !Task.isCancelled {
                discard(connection)
                continue
            } catch {
                discard(connection)
                throw map(error, endpoint: endpoint)
            }
        }
    }

    /// Closes every connection; requests in flight fail, later ones throw ``ConsulError/Code/shutdown``.
    func shutdown() async {
        let all = pool.withLock { p -> [Connection] in
            p.closed = true
            p.idle = [:]
            let all = Array(p.open.values)
            p.open = [:]
            return all
        }
        for c in all { try? await c.channel.close() }
    }

    private func connection(to endpoint: String, deadline: ContinuousClock.Instant) async throws(ConsulError) -> (Connection, Bool) {
        let reused = try pool.withLock { p throws(ConsulError) -> Connection? in
            guard !p.closed else { throw ConsulError(.shutdown, "the Consul client is shut down", endpoint: endpoint) }
            while var list = p.idle[endpoint], let c = list.popLast() {
                p.idle[endpoint] = list.isEmpty ? nil : list
                if c.channel.isActive { return c }
                p.open[ObjectIdentifier(c)] = nil
            }
            return nil
        }
        if let reused { return (reused, true) }
        if Task.isCancelled { throw ConsulError(.cancelled, "cancelled", endpoint: endpoint) }
        let address: HostPort
        do {
            address = try HostPort(parsing: endpoint, defaultPort: 8500, defaultHost: HostPort.loopback)
        } catch {
            throw ConsulError(.invalidArgument, "agent address: \(error)", endpoint: endpoint, cause: error)
        }
        let remaining = deadline - ContinuousClock.now
        let limit = min(connectTimeout, max(remaining, .milliseconds(1)))
        let maxBody = self.maxBody
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Self.nanos(limit)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ConsulHTTPHandler(maxBody: maxBody))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            if Task.isCancelled { throw ConsulError(.cancelled, "cancelled", endpoint: endpoint, cause: error) }
            if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                throw ConsulError(.timeout, "connecting timed out", endpoint: endpoint, cause: error)
            }
            throw ConsulError(.unavailable, "cannot connect: \(error)", endpoint: endpoint, cause: error)
        }
        let c = Connection(channel: channel, endpoint: endpoint)
        let admitted = pool.withLock { p -> Bool in
            guard !p.closed else { return false }
            p.open[ObjectIdentifier(c)] = c
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            throw ConsulError(.shutdown, "the Consul client is shut down", endpoint: endpoint)
        }
        return (c, false)
    }

    private func send(_ request: ConsulHTTPRequest, on connection: Connection, deadline: ContinuousClock.Instant) async throws -> ConsulHTTPResponse {
        let channel = connection.channel
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.uri)
        head.headers.add(name: "Host", value: connection.endpoint)
        head.headers.add(name: "User-Agent", value: "swift-micro-consul")
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        var body: ByteBuffer?
        if let bytes = request.body {
            body = channel.allocator.buffer(bytes: bytes)
            head.headers.add(name: "Content-Length", value: String(bytes.count))
        } else if request.method == .PUT || request.method == .POST {
            head.headers.add(name: "Content-Length", value: "0")
        }
        let remaining = max(deadline - ContinuousClock.now, .milliseconds(1))
        let promise = channel.eventLoop.makePromise(of: ConsulHTTPResponse.self)
        let exchange = ConsulHTTPExchange(head: head, body: body, timeout: .nanoseconds(Self.nanos(remaining)), promise: promise)
        return try await withTaskCancellationHandler {
            channel.writeAndFlush(exchange).whenFailure { error in
                promise.fail(ConsulTransportFailure.channel(error))
            }
            return try await promise.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    private func release(_ c: Connection) {
        let keep = pool.withLock { p -> Bool in
            guard !p.closed, c.channel.isActive, (p.idle[c.endpoint]?.count ?? 0) < maxIdle else {
                p.open[ObjectIdentifier(c)] = nil
                return false
            }
            p.idle[c.endpoint, default: []].append(c)
            return true
        }
        if !keep { c.channel.close(promise: nil) }
    }

    private func discard(_ c: Connection) {
        _ = pool.withLock { $0.open.removeValue(forKey: ObjectIdentifier(c)) }
        c.channel.close(promise: nil)
    }

    private func map(_ error: any Error, endpoint: String) -> ConsulError {
        if let e = error as? ConsulError { return e }
        if Task.isCancelled { return ConsulError(.cancelled, "cancelled", endpoint: endpoint, cause: error) }
        guard let failure = error as? ConsulTransportFailure else {
            return ConsulError(.unavailable, "\(error)", endpoint: endpoint, cause: error)
        }
        switch failure {
        case .closed(let answered):
            return ConsulError(.unavailable, answered ? "connection closed in the middle of the answer" : "connection closed before an answer",
                               endpoint: endpoint, cause: error)
        case .tooLarge(let limit):
            return ConsulError(.responseTooLarge, "answer larger than \(limit) bytes", endpoint: endpoint, cause: error)
        case .timedOut:
            return ConsulError(.timeout, "no answer in time", endpoint: endpoint, cause: error)
        case .busy:
            return ConsulError(.unavailable, "connection busy", endpoint: endpoint, cause: error)
        case .channel(let inner):
            if inner is HTTPParserError {
                return ConsulError(.invalidResponse, "malformed HTTP answer: \(inner)", endpoint: endpoint, cause: inner)
            }
            return ConsulError(.unavailable, "\(inner)", endpoint: endpoint, cause: inner)
        }
    }

    static func nanos(_ d: Duration) -> Int64 {
        let (s, a) = d.components
        let (product, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : product &+ a / 1_000_000_000
    }
}
