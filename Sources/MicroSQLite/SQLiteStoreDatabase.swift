import Foundation
import Logging
import MicroCore
import NIOConcurrencyHelpers
import SQLiteNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One database of a ``SQLiteStore``: a file in WAL mode with a writer connection, whose statements
/// (a write's transaction above all) run one caller at a time, and a reader connection that sees only
/// committed data. Both open on first use and close on ``close()``.
final class SQLiteStoreDatabase: Sendable {
    /// The file.
    let path: String
    private let configuration: SQLiteStoreConfiguration
    private let logger: Logger
    private let writeLock = AsyncMutex()
    private let readLock = AsyncMutex()

    private struct State {
        var writer: SQLiteConnection?
        var reader: SQLiteConnection?
        /// Tables known to exist, so each is created once per process.
        var tables: Set<String> = []
        /// Writes per table since its last sweep of expired rows.
        var writes: [String: Int] = [:]
        var closed = false
        /// The database file the connections opened, and its write-ahead log once a commit made it.
        var file: FileID?
        var wal: FileID?
    }

    /// A file's device and inode: which file a path named when it was checked.
    struct FileID: Equatable {
        var device: UInt64
        var inode: UInt64

        /// The file at `path` now; nil when there is none.
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    private let state = NIOLockedValueBox(State())
    /// Writes to a table between two deletions of its expired rows.
    static let sweepEvery = 256

    init(path: String, configuration: SQLiteStoreConfiguration, logger: Logger) {
        self.path = path
        self.configuration = configuration
        self.logger = logger
    }

    deinit {
        // A store dropped without `shutdown()`: close the handles (each close holds its connection).
        let open = state.withLockedValue { [$0.writer, $0.reader] }
        for connection in open { _ = connection?.close() }
    }

    /// Runs `body` on the writer connection, with `table` created, holding the write lock: nothing
    /// else runs on that connection meanwhile, so `body` may span a transaction.
    func withWriter<T: Sendable>(table: String, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            let connection = try await openedWriter()
            try await ensureTable(table, on: connection)
            return try await body(connection)
        }
    }

    /// Runs `body` on the reader connection (`table` created first if this process has not yet).
    func withReader<T: Sendable>(table: String, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        // The table is set up on the writer before the read lock is taken: ``close()`` takes the
        // write lock, then the read lock, so no path may hold them the other way round.
        if !state.withLockedValue({ $0.reader != nil && $0.tables.contains(table) }) {
            try await withWriter(table: table) { _ in }
        }
        return try await readLock.withLock {
            guard let reader = state.withLockedValue({ $0.closed ? nil : $0.reader }) else { throw Self.closedError }
            return try await body(reader)
        }
    }

    /// Runs `body` on the writer connection holding the write lock, creating no store table (models
    /// create their own).
    func withWriterConnection<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            try await body(try await openedWriter())
        }
    }

    /// Runs `body` on the reader connection, opening the file first if needed.
    func withReaderConnection<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        if !state.withLockedValue({ $0.reader != nil }) {
            try await withWriterConnection { _ in }
        }
        return try await readLock.withLock {
            guard let reader = state.withLockedValue({ $0.closed ? nil : $0.reader }) else { throw Self.closedError }
            return try await body(reader)
        }
    }

    /// Counts a write to `table`; every ``sweepEvery`` writes runs `sweep`, the deletion of its expired
    /// rows (through the expiry index). Call on the writer connection, holding the write lock.
    func noteWrite(table: String, sweep: String, on connection: SQLiteConnection) async {
        let due = state.withLockedValue { s -> Bool in
            let n = (s.writes[table] ?? 0) + 1
            s.writes[table] = n >= Self.sweepEvery ? 0 : n
            return n >= Self.sweepEvery
        }
        guard due else { return }
        do {
            _ = try await connection.query(sweep, [.integer(SQLiteInt64(StoreClock.nowMilliseconds()))])
        } catch {
            logger.debug("sweep of expired rows failed", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Closes both connections once every statement running on them has finished; later operations
    /// fail with ``StoreError/Code/unavailable``.
    func close() async {
        state.withLockedValue { $0.closed = true }
        await writeLock.withLock {
            await readLock.withLock {
                let open = state.withLockedValue { s -> [SQLiteConnection] in
                    defer { s.writer = nil; s.reader = nil }
                    return [s.writer, s.reader].compactMap { $0 }
                }
                for connection in open { try? await connection.close().get() }
            }
        }
    }

    static let closedError = StoreError(.unavailable, "the SQLite store is shut down")

    // MARK: The file removed under the store

    /// Checks, right after a commit on the writer (holding the write lock), that the path still names
    /// the file (and write-ahead log) the connections hold. SQLite keeps writing to a removed file's
    /// inode, so a commit there would be acknowledged and then lost with it: instead this fails with
    /// ``StoreError/Code/unavailable`` and drops both connections, and the next operation opens
    /// whatever the path names then (a new, empty database if nothing). Costs two `stat` calls per write.
    func confirmCommitReachedTheFile() async throws {
        let walPath = path + "-wal"
        let intact = state.withLockedValue { s -> Bool in
            guard let file = s.file, FileID(path: path) == file else { return false }
            let wal = FileID(path: walPath)
            if s.wal == nil { s.wal = wal }  // made by the first commit
            return wal != nil && wal == s.wal
        }
        if intact { return }
        logger.error("the database file or its write-ahead log was removed or replaced under the running store", metadata: ["path": "\(path)"])
        await readLock.withLock {
            let open = state.withLockedValue { s -> [SQLiteConnection] in
                defer {
                    s.writer = nil
                    s.reader = nil
                    s.tables = []
                    s.file = nil
                    s.wal = nil
                }
                return [s.writer, s.reader].compactMap { $0 }
            }
            for connection in open { try? await connection.close().get() }
        }
        throw StoreError(.unavailable, "\(path) was removed or replaced under the running store: this write went to the removed file "
                         + "and is lost with it; the next operation opens the file the path names now")
    }

    // MARK: Opening

    /// The writer connection, opening the file (and the reader) first if needed. Holding the write lock.
    private func openedWriter() async throws -> SQLiteConnection {
        let (closed, writer) = state.withLockedValue { ($0.closed, $0.writer) }
        if closed { throw Self.closedError }
        if let writer { return writer }
        try Self.preparePrivateFile(path)
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            opened.append(writer)
            try await configure(writer)
            let mode = try await writer.query("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
            guard mode?.lowercased() == "wal" else {
                throw StoreError(.unavailable, "\(path) cannot use write-ahead logging (journal mode \(mode ?? "unknown"))")
            }
            // FULL: a commit returns once the WAL is synced to disk, so an acknowledged write survives
            // a crash of the machine, not only of the process.
            _ = try await writer.query("PRAGMA synchronous = FULL")
            _ = try await writer.query("""
                CREATE TABLE IF NOT EXISTS micro_store_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL)
                """)
            _ = try await writer.query("INSERT OR IGNORE INTO micro_store_sequence (id, revision) VALUES (1, 0)")
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            opened.append(reader)
            try await configure(reader)
            _ = try await reader.query("PRAGMA query_only = 1")
            guard let file = FileID(path: path) else {
                throw StoreError(.unavailable, "\(path) was removed while the store opened it")
            }
            state.withLockedValue { s in
                s.writer = writer
                s.reader = reader
                s.file = file
                s.wal = nil
            }
            return writer
        } catch {
            for connection in opened { try? await connection.close().get() }
            throw SQLiteStore.storeError(error, path: path)
        }
    }

    private func configure(_ connection: SQLiteConnection) async throws {
        let ms = max(0, configuration.busyTimeout.components.seconds * 1000 + configuration.busyTimeout.components.attoseconds / 1_000_000_000_000_000)
        _ = try await connection.query("PRAGMA busy_timeout = \(min(ms, Int64(Int32.max)))")
    }

    /// Creates `table` (quoted, from a validated name) unless this process already has.
    private func ensureTable(_ table: String, on connection: SQLiteConnection) async throws {
        if state.withLockedValue({ $0.tables.contains(table) }) { return }
        do {
            _ = try await connection.query("""
                CREATE TABLE IF NOT EXISTS \(table) (
                    key TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL,
                    metadata TEXT NOT NULL,
                    expiry INTEGER,
                    revision INTEGER NOT NULL
                ) WITHOUT ROWID
                """)
            let index = "\"" + table.dropFirst().dropLast() + "_expiry\""
            _ = try await connection.query("CREATE INDEX IF NOT EXISTS \(index) ON \(table) (expiry) WHERE expiry IS NOT NULL")
        } catch {
            throw SQLiteStore.storeError(error, path: path)
        }
        state.withLockedValue { _ = $0.tables.insert(table) }
    }

    /// Makes the file's directory (mode 0700, with missing parents) and the file (mode 0600) before
    /// SQLite opens it; SQLite gives its `-wal` and `-shm` files the database file's mode.
    private static func preparePrivateFile(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if let err = PrivateDirectory.make(directory) {
            throw StoreError(.unavailable, "cannot create the store directory \(directory): \(String(cString: strerror(err)))")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let err = errno
            throw StoreError(.unavailable, "cannot open \(path): \(String(cString: strerror(err)))")
        }
        closeDescriptor(fd)
    }
}

/// `close(2)`, out of reach of ``SQLiteStoreDatabase/close()``'s name.
private func closeDescriptor(_ fd: Int32) {
    close(fd)
}
