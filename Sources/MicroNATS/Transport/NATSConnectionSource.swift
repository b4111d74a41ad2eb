import Logging
import NATSClient
import NIOConcurrencyHelpers

/// Where a broker, registry or transport gets its ``NATSConnection``: one it was given (shared, never
/// closed by it), or one it opens from options on first use (owned, closed by ``close()``).
///
/// Concurrent first uses share one connection attempt; a failed attempt is retried by the next use.
final class NATSConnectionSource: Sendable {
    private enum State {
        case idle
        case connecting([CheckedContinuation<NATSConnection, any Error>])
        case connected(NATSConnection)
        case closed
    }

    private let options: NATSOptions?
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    /// Whether ``close()`` closes the connection.
    let owned: Bool

    /// A source handing out `connection`, which others may share: it is never closed here.
    init(shared connection: NATSConnection, logger: Logger) {
        options = nil
        owned = false
        self.logger = logger
        state = NIOLockedValueBox(.connected(connection))
    }

    /// A source that connects with `options` on first use and owns that connection.
    init(options: NATSOptions, logger: Logger) {
        self.options = options
        owned = true
        self.logger = logger
        state = NIOLockedValueBox(.idle)
    }

    /// The connection, connecting first if needed.
    func get() async throws -> NATSConnection {
        enum Plan { case ready(NATSConnection), connect, wait, closed }
        // Fast path without a continuation.
        let fast: Plan = state.withLockedValue { s in
            switch s {
            case .connected(let c): return .ready(c)
            case .closed: return .closed
            case .idle: s = .connecting([]); return .connect
            case .connecting: return .wait
            }
        }
        switch fast {
        case .ready(let c): return c
        case .closed: throw NATSError(.closed, "the connection was closed")
        case .connect: return try await connect()
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let now: Result<NATSConnection, any Error>? = state.withLockedValue { s in
                    switch s {
                    case .connected(let c): return .success(c)
                    case .closed: return .failure(NATSError(.closed, "the connection was closed"))
                    case .idle:
                        // The attempt failed meanwhile; this caller does not retry on its own.
                        return .failure(NATSError(.connectFailed, "connection attempt failed"))
                    case .connecting(var waiters):
                        waiters.append(continuation)
                        s = .connecting(waiters)
                        return nil
                    }
                }
                if let now { continuation.resume(with: now) }
            }
        }
    }

    private func connect() async throws -> NATSConnection {
        let result: Result<NATSConnection, any Error>
        do {
            result = .success(try await NATSConnection.connect(options ?? NATSOptions(), logger: logger))
        } catch {
            result = .failure(error)
        }
        enum After { case keep([CheckedContinuation<NATSConnection, any Error>]), discard(NATSConnection) }
        let after: After = state.withLockedValue { s in
            guard case .connecting(let waiters) = s else {
                // Closed while connecting: the new connection is not handed out.
                if case .success(let c) = result { return .discard(c) }
                return .keep([])
            }
            switch result {
            case .success(let c): s = .connected(c)
            case .failure: s = .idle
            }
            return .keep(waiters)
        }
        switch after {
        case .discard(let c):
            await c.close()
            throw NATSError(.closed, "the connection was closed")
        case .keep(let waiters):
            for w in waiters { w.resume(with: result) }
            return try result.get()
        }
    }

    /// The connection if one is open, without connecting.
    var current: NATSConnection? {
        state.withLockedValue { s in if case .connected(let c) = s { return c } else { return nil } }
    }

    /// Stops handing out the connection; an owned one is drained and closed.
    func close() async {
        let (connection, waiters): (NATSConnection?, [CheckedContinuation<NATSConnection, any Error>]) = state.withLockedValue { s in
            defer { s = .closed }
            switch s {
            case .connected(let c): return (c, [])
            case .connecting(let w): return (nil, w)
            case .idle, .closed: return (nil, [])
            }
        }
        for w in waiters { w.resume(throwing: NATSError(.closed, "the connection was closed")) }
        if owned, let connection {
            await connection.drain(timeout: .seconds(2))
            await connection.close()
        }
    }
}
