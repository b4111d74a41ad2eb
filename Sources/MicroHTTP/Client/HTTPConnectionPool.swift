import MicroCore
import NIOConcurrencyHelpers
import NIOCore

/// Idle keep-alive connections per address, reused by later calls.
final class HTTPConnectionPool: Sendable {
    private let configuration: HTTPTransportConfiguration
    private let state = NIOLockedValueBox<(idle: [String: [HTTPConnection]], closed: Bool)>(([:], false))

    init(configuration: HTTPTransportConfiguration) {
        self.configuration = configuration
    }

    /// An idle connection to `address`, or a new one.
    func acquire(_ address: String) async throws -> HTTPConnection {
        while let c = state.withLockedValue({ s -> HTTPConnection? in s.idle[address]?.popLast() }) {
            if c.isActive { return c }
        }
        if state.withLockedValue({ $0.closed }) { throw TransportError(.shutdown, address: address, detail: "client transport is shut down") }
        return try await HTTPConnection.connect(to: address, timeout: configuration.connectTimeout)
    }

    /// Returns a connection for reuse (or closes it when the pool is full or the connection is done).
    func release(_ connection: HTTPConnection, reusable: Bool) {
        guard reusable, connection.isActive else { connection.close(); return }
        let kept = state.withLockedValue { s -> Bool in
            guard !s.closed, (s.idle[connection.address]?.count ?? 0) < configuration.maxIdleConnectionsPerHost else { return false }
            s.idle[connection.address, default: []].append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    func shutdown() {
        let all = state.withLockedValue { s -> [HTTPConnection] in
            s.closed = true
            let all = s.idle.values.flatMap { $0 }
            s.idle.removeAll()
            return all
        }
        for c in all { c.close() }
    }
}
