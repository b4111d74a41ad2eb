import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// One operation's use of a leased connection: every statement goes through ``query(_:)``, which
/// checks on the connection's event loop, in the same turn as it hands the statement to the channel,
/// that the connection is still open.
///
/// postgres-nio writes a statement to its channel without a promise: one written after the channel
/// closed (the pool can lease a connection the server has just dropped, before it learns so) is lost
/// and its result never arrives. Checked and written in one event-loop turn, a statement either goes
/// out on an open channel — whose handler fails it if the channel closes later — or is refused with
/// ``Stale`` before anything was sent.
struct PostgresStoreSession: Sendable {
    /// The connection closed before a statement could be sent: nothing was sent.
    struct Stale: Error {}

    let connection: PostgresConnection
    let logger: Logger
    /// Whether a statement has gone out since the last ``resetSent()``.
    private let sent: NIOLockedValueBox<Bool>

    /// A session on `connection` that records in `sent` when a statement goes out.
    init(connection: PostgresConnection, logger: Logger, sent: NIOLockedValueBox<Bool> = NIOLockedValueBox(false)) {
        self.connection = connection
        self.logger = logger
        self.sent = sent
    }

    /// Runs `query` and returns every row it gave.
    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let connection = self.connection
        let logger = self.logger
        let sent = self.sent
        return try await connection.eventLoop.flatSubmit { () -> EventLoopFuture<[PostgresRow]> in
            guard !connection.isClosed else { return connection.eventLoop.makeFailedFuture(Stale()) }
            sent.withLockedValue { $0 = true }
            return connection.query(query, logger: logger).map(\.rows)
        }.get()
    }

    /// Runs the statement `sql`, which takes no binds.
    @discardableResult
    func execute(_ sql: String) async throws -> [PostgresRow] {
        try await query(PostgresQuery(unsafeSQL: sql))
    }

    /// Whether a statement has gone out since the last ``resetSent()``.
    var hasSent: Bool { sent.withLockedValue { $0 } }

    /// Starts counting statements afresh (after the set-up statements of an operation).
    func resetSent() {
        sent.withLockedValue { $0 = false }
    }
}
