import MicroCore
import PostgresNIO

/// How failures of postgres-nio and the server become ``StoreError``s.
///
/// A server error's SQLSTATE decides: data that does not fit the store's columns (class 22), a table
/// altered under the store (class 42, 23) or corrupted data (XX001, XX002) is
/// ``StoreError/Code/malformed``; everything else — the server shutting down or restarting (57P),
/// connection failures (08), lack of resources (53), lock or serialization failures (40, 55) — and every
/// failure of the connection itself is ``StoreError/Code/unavailable``.
enum PostgresStoreErrors {
    /// The server's SQLSTATE of `error`, nil when it is not a server error.
    static func sqlState(_ error: any Error) -> String? {
        guard let psql = error as? PSQLError, psql.code == .server else { return nil }
        return psql.serverInfo?[.sqlState]
    }

    /// Whether `error` says a schema, table or sequence the store made is gone (dropped meanwhile).
    static func isMissingRelation(_ error: any Error) -> Bool {
        guard let state = sqlState(error) else { return false }
        return state == "42P01" || state == "3F000"
    }

    /// Whether `error` is the connection failing (not a statement the server refused), so a read may be
    /// retried on another connection.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown: return true
        case .server:
            guard let state = psql.serverInfo?[.sqlState] else { return false }
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default: return false
        }
    }

    /// `error` as a ``StoreError`` (a cancellation stays one); `server` names the server, and `mayHaveApplied`
    /// adds that a write's outcome is unknown.
    static func storeError(_ error: any Error, server: String, mayHaveApplied: Bool) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        let unknown = mayHaveApplied ? " (the write may or may not have been applied)" : ""
        if error is PostgresStoreSession.Stale {
            return StoreError(.unavailable, "\(server): the connection closed")
        }
        if let decoding = error as? PostgresDecodingError {
            return StoreError(.malformed, "\(server): a column does not decode: \(decoding.code) (\(decoding.postgresType))")
        }
        guard let psql = error as? PSQLError else {
            return StoreError(.unavailable, "\(server): \(error)\(unknown)")
        }
        guard psql.code == .server, let info = psql.serverInfo else {
            let underlying = psql.underlying.map { ": \($0)" } ?? ""
            return StoreError(.unavailable, "\(server): \(psql.code)\(underlying)\(unknown)")
        }
        let state = info[.sqlState] ?? "?????"
        let message = "\(server): \(info[.message] ?? "server error") (SQLSTATE \(state))"
        if state.hasPrefix("22") || state.hasPrefix("23") || (state.hasPrefix("42") && state != "42501") || state == "XX001" || state == "XX002" {
            return StoreError(.malformed, message)
        }
        return StoreError(.unavailable, message + unknown)
    }
}
