import Logging
import MicroCore
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// The connection pool of a ``PostgresStore``, shared by every scope of it: postgres-nio's
/// `PostgresClient`, whose `run()` is a task this value owns (started on first use, ended by
/// ``close()``), the ``PostgresConnectionLender`` that lends its connections to operations, the
/// relations known to exist, and the bound on every operation.
///
/// When the server goes away, operations fail with ``StoreError/Code/unavailable`` within
/// ``PostgresStoreConfiguration/operationTimeout``; the pool keeps dialling (backing off) and the
/// same store works again once the server is back.
final class PostgresStoreClient: Sendable {
    let configuration: PostgresStoreConfiguration
    let logger: Logger
    private let client: PostgresClient
    private let runner = OwnedTasks()
    private let lender: PostgresConnectionLender

    private struct State {
        var started = false
        var closed = false
        /// The ``PostgresStoreRelation/setupID``s of what this process has set up, so each is set up once.
        var relations: Set<String> = []
        /// Whether the server's encoding was checked to be UTF8.
        var encodingChecked = false
        /// Writes per table since its last sweep of expired rows.
        var writes: [String: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Writes to a table between two deletions of its expired rows.
    static let sweepEvery = 256
    /// The advisory lock held while creating tables, so processes creating the same table at once do
    /// not trip over PostgreSQL's non-atomic `IF NOT EXISTS` ("micro_st" in ASCII).
    static let creationLock: Int64 = 0x6D69_6372_6F5F_7374

    init(configuration: PostgresStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // The pool reports every failed dial at info; the operations that fail say so themselves.
        var background = logger
        background.logLevel = max(logger.logLevel, .notice)
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: background)
        self.client = client
        // Deadlines are checked an eighth of the timeout apart (10 ms to 1 s), so an operation ends
        // within about 1.125 times the timeout.
        let eighth = Self.nanoseconds(configuration.operationTimeout) / 8
        self.lender = PostgresConnectionLender(client: client, runner: runner, maximum: configuration.maximumConnections,
                                               checkInterval: .nanoseconds(min(max(eighth, 10_000_000), 1_000_000_000)))
    }

    /// The server, for messages (no password).
    var server: String { configuration.displayURL }

    static func closedError(_ server: String) -> StoreError {
        StoreError(.unavailable, "the postgres store for \(server) is shut down")
    }

    /// Runs `body` in a session on a connection of the pool with `relation` set up, within the operation timeout.
    ///
    /// The connection is borrowed from the ``PostgresConnectionLender`` in the caller's task, and the
    /// timeout is its deadline there: waiting for a connection ends at it, and a statement still
    /// running at it loses its connection (so does one whose caller is cancelled).
    /// An attempt whose statements did not go out (the connection was found closed, or failed before
    /// `body` sent anything) is made again on another connection, and so is a read (`idempotent`) whose
    /// connection failed; a table dropped under the store is created again once. At most three
    /// attempts. Failures are ``StoreError``s; when a non-idempotent `body` may have sent its
    /// statement, the error says its outcome is unknown.
    func withSession<T: Sendable>(_ relation: some PostgresStoreRelation, idempotent: Bool,
                                  _ body: (PostgresStoreSession) async throws -> T) async throws -> T {
        try start()
        let timeout = configuration.operationTimeout
        let deadline = Self.deadline(after: timeout)
        // Whether the body of the latest attempt may have sent a statement.
        var maybeSent = false
        do {
            var attempt = 0
            var recreated = false
            while true {
                attempt += 1
                let slot: PostgresConnectionLender.Slot
                do {
                    slot = try await lender.borrow(until: deadline, closed: Self.closedError(server))
                } catch let failed as PostgresConnectionLender.LeaseFailed {
                    // Nothing was sent: another attempt, while there is time.
                    guard attempt < 3, NIODeadline.now() < deadline else { throw failed.underlying }
                    continue
                }
                let session = PostgresStoreSession(slot: slot, logger: logger)
                var inBody = false
                do {
                    let result = try await withTaskCancellationHandler {
                        try await ensure(relation, session)
                        slot.resetSent()
                        inBody = true
                        return try await body(session)
                    } onCancel: {
                        // The caller gave up: a statement on its way cannot be cancelled in place, so the
                        // connection goes (failing it) and the pool replaces it.
                        slot.abandon()
                    }
                    lender.giveBack(slot)
                    return result
                } catch {
                    lender.giveBack(slot)
                    let bodySent = inBody && slot.hasSent
                    maybeSent = bodySent
                    if slot.timedOut { throw PostgresConnectionLender.DeadlinePassed() }
                    guard attempt < 3 else { throw error }
                    if !recreated, PostgresStoreErrors.isMissingRelation(error) {
                        recreated = true
                        forget(relation)
                        continue
                    }
                    let connectionFailed = error is PostgresStoreSession.Stale || PostgresStoreErrors.isConnectionFailure(error)
                    if connectionFailed, idempotent || !bodySent {
                        if NIODeadline.now() >= deadline { throw PostgresConnectionLender.DeadlinePassed() }
                        continue
                    }
                    throw error
                }
            }
        } catch is PostgresConnectionLender.DeadlinePassed {
            if state.withLockedValue({ $0.closed }) { throw Self.closedError(server) }
            let unknown = !idempotent && maybeSent ? " (the write may or may not have been applied)" : ""
            throw StoreError(.unavailable, "\(server): no answer within \(timeout)\(unknown)")
        } catch {
            if state.withLockedValue({ $0.closed }), !(error is StoreError) { throw Self.closedError(server) }
            throw PostgresStoreErrors.storeError(error, server: server, mayHaveApplied: !idempotent && maybeSent)
        }
    }

    /// The uptime `timeout` from now (saturating).
    private static func deadline(after timeout: Duration) -> NIODeadline {
        let end = NIODeadline.now().uptimeNanoseconds.addingReportingOverflow(UInt64(nanoseconds(timeout)))
        return .uptimeNanoseconds(end.overflow ? UInt64(Int64.max) : min(end.partialValue, UInt64(Int64.max)))
    }

    /// `duration` in whole nanoseconds, at most `Int64.max` (a configuration's timeouts are positive).
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let whole = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !whole.overflow else { return seconds < 0 ? 0 : .max }
        let sum = whole.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000)
        return sum.overflow ? .max : max(sum.partialValue, 0)
    }

    /// Counts a write to `table`; true every ``sweepEvery`` writes, when its expired rows are due for deletion.
    func noteWrite(_ table: PostgresStoreTable) -> Bool {
        state.withLockedValue { s in
            let n = (s.writes[table.table] ?? 0) + 1
            s.writes[table.table] = n >= Self.sweepEvery ? 0 : n
            return n >= Self.sweepEvery
        }
    }

    /// Ends the pool's task (closing every connection) and waits for it; later operations fail with
    /// ``StoreError/Code/unavailable``.
    func close() async {
        state.withLockedValue { $0.closed = true }
        lender.close(Self.closedError(server))
        await runner.close()
    }

    // MARK: Plumbing

    /// Starts the pool's task on first use; throws once closed.
    private func start() throws {
        let spawn = try state.withLockedValue { s -> Bool in
            if s.closed { throw Self.closedError(server) }
            if s.started { return false }
            s.started = true
            return true
        }
        guard spawn else { return }
        let client = self.client
        if runner.spawn({ await client.run() }) == nil { throw Self.closedError(server) }
    }

    private func forget(_ relation: some PostgresStoreRelation) {
        _ = state.withLockedValue { $0.relations.remove(relation.setupID) }
    }

    /// Sets `relation` up unless this process already has: its schema and then the rest, in one
    /// transaction holding ``creationLock``; checks once that the server's encoding is UTF8.
    private func ensure(_ relation: some PostgresStoreRelation, _ session: PostgresStoreSession) async throws {
        let id = relation.setupID
        let (known, checked) = state.withLockedValue { ($0.relations.contains(id), $0.encodingChecked) }
        if known { return }
        if !checked {
            let rows = try await session.execute("SELECT current_setting('server_encoding')")
            let encoding = try rows.first?.decode(String.self)
            guard encoding == "UTF8" else {
                throw StoreError(.unavailable, "\(server): the database's encoding is \(encoding ?? "unknown"); the store needs UTF8")
            }
            state.withLockedValue { $0.encodingChecked = true }
        }
        try await session.execute("BEGIN")
        do {
            var lock = PostgresBindings()
            lock.append(Self.creationLock)
            _ = try await session.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM pg_advisory_xact_lock($1)", binds: lock))
            try await session.execute("CREATE SCHEMA IF NOT EXISTS \(relation.schema)")
            try await relation.setUp(session)
            try await session.execute("COMMIT")
        } catch {
            _ = try? await session.execute("ROLLBACK")
            throw error
        }
        state.withLockedValue { _ = $0.relations.insert(id) }
    }
}
