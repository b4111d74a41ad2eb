import MicroCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Connections per address: idle HTTP/1.1 keep-alive connections reused by later calls, or, with
/// HTTP/2, one shared connection per address on which every call opens a stream.
final class HTTPConnectionPool: Sendable {
    private let configuration: HTTPTransportConfiguration

    private struct State {
        var idle: [String: [HTTPConnection]] = [:]
        var http2: [String: HTTP2Connection] = [:]
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    init(configuration: HTTPTransportConfiguration) {
        self.configuration = configuration
    }

    /// A connection (or HTTP/2 stream) for one exchange with `address`.
    func acquire(_ address: String) async throws -> HTTPConnection {
        if configuration.http2 { return try await http2Connection(address).openExchange() }
        // A caller running on an event loop (a server's handler, a gateway's connection) gets a connection
        // of that loop when one is idle, and a new one is made there: the exchange then never leaves the thread.
        let here = MultiThreadedEventLoopGroup.currentEventLoop
        while let c = state.withLockedValue({ s -> HTTPConnection? in Self.take(from: &s.idle[address], preferring: here) }) {
            if c.isActive { return c }
        }
        try checkOpen(address)
        return try await HTTPConnection.connect(to: address, timeout: configuration.connectTimeout, security: configuration.security,
                                                group: here ?? MultiThreadedEventLoopGroup.singleton)
    }

    /// Takes the most recently idle connection on `loop`, else the most recently idle one.
    static func take(from idle: inout [HTTPConnection]?, preferring loop: (any EventLoop)?) -> HTTPConnection? {
        guard let count = idle?.count, count > 0 else { return nil }
        if let loop, let i = idle?.lastIndex(where: { $0.channel.eventLoop === loop }) {
            return idle?.remove(at: i)
        }
        return idle?.popLast()
    }

    /// A connection (or HTTP/2 stream) that belongs to one stream call alone and is closed with it;
    /// over HTTP/1.1 it reads go-micro's unsolicited stream answers.
    func dedicated(_ address: String) async throws -> HTTPConnection {
        if configuration.http2 { return try await http2Connection(address).openExchange() }
        try checkOpen(address)
        return try await HTTPConnection.connect(to: address, timeout: configuration.connectTimeout,
                                                answers: .unsolicited(maxMessageSize: configuration.maxMessageSize), security: configuration.security)
    }

    private func checkOpen(_ address: String) throws {
        if state.withLockedValue({ $0.closed }) { throw TransportError(.shutdown, address: address, detail: "client transport is shut down") }
    }

    private func http2Connection(_ address: String) async throws -> HTTP2Connection {
        if let c = state.withLockedValue({ $0.http2[address] }), c.isActive { return c }
        try checkOpen(address)
        let fresh = try await HTTP2Connection.connect(to: address, timeout: configuration.connectTimeout, security: configuration.security)
        let chosen = state.withLockedValue { s -> HTTP2Connection? in
            if s.closed { return nil }
            if let existing = s.http2[address], existing.isActive { return existing }
            s.http2[address] = fresh
            return fresh
        }
        if chosen !== fresh { fresh.close() }
        guard let chosen else { throw TransportError(.shutdown, address: address, detail: "client transport is shut down") }
        return chosen
    }

    /// Returns a connection for reuse (or closes it when the pool is full or the connection is done).
    func release(_ connection: HTTPConnection, reusable: Bool) {
        guard reusable, connection.reusable, connection.isActive else { connection.close(); return }
        let kept = state.withLockedValue { s -> Bool in
            guard !s.closed, (s.idle[connection.address]?.count ?? 0) < configuration.maxIdleConnectionsPerHost else { return false }
            s.idle[connection.address, default: []].append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    func shutdown() {
        let (idle, http2) = state.withLockedValue { s -> ([HTTPConnection], [HTTP2Connection]) in
            s.closed = true
            let all = (s.idle.values.flatMap { $0 }, Array(s.http2.values))
            s.idle.removeAll()
            s.http2.removeAll()
            return all
        }
        for c in idle { c.close() }
        for c in http2 { c.close() }
    }
}
