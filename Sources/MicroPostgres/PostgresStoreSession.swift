import Logging
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

    let slot: PostgresConnectionLender.Slot
    let logger: Logger

    /// The borrowed connection.
    var connection: PostgresConnection { slot.connection }

    /// Runs `query` and returns every row it gave.
    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let slot = self.slot
        let logger = self.logger
        let connection = slot.connection
        return try await connection.eventLoop.flatSubmit { () -> EventLoopFuture<[PostgresRow]> in
            guard !connection.isClosed else { return connection.eventLoop.makeFailedFuture(Stale()) }
            slot.noteSent()
            return connection.query(query, logger: logger).map(\.rows)
        }.get()
    }

    /// Runs the statement `sql`, which takes no binds.
    @discardableResult
    func execute(_ sql: String) async throws -> [PostgresRow] {
        try await query(PostgresQuery(unsafeSQL: sql))
    }
}
