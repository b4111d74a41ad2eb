import ArgumentParser
import EtcdClient
import Foundation
import Micro
import MicroEtcd
import MicroPostgres
import MicroTestSupport
import PostgresNIO
import SQLiteNIO

/// `micro-bench sync`: lock acquire+release latency, one caller at a time, on etcd against the raw
/// etcd client calls doing the same (lease grant, transaction put if absent, delete, lease revoke) in
/// the same run; on PostgreSQL and SQLite against their raw drivers running the statements the store
/// runs (insert if absent or expired, delete at the revision); and on memory.
struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Lock acquire+release latency on etcd, PostgreSQL and SQLite (each against its raw client), and memory.")

    @Option(help: "Engines, comma-separated, from: etcd, postgres, sqlite, memory.")
    var engines: String = "etcd,postgres,sqlite,memory"
    @Option(help: "Measured seconds per run.")
    var seconds: Double = 3
    @Option(help: "Rounds: raw and framework runs alternate this many times; the best run of each is reported.")
    var rounds: Int = 2
    @Option(help: "An etcd to use (host:port); default: start one on a free loopback port.")
    var etcd: String?

    func validate() throws {
        guard seconds > 0, rounds >= 1 else { throw ValidationError("seconds > 0, rounds ≥ 1") }
    }

    /// One run: the latency of each acquire+release, in seconds.
    struct Run {
        var latencies: [Double] = []
        var elapsed: Double = 0
        var opsPerSecond: Double { Double(latencies.count) / elapsed }
        func quantile(_ q: Double) -> Double {
            let sorted = latencies.sorted()
            guard !sorted.isEmpty else { return .nan }
            return sorted[max(0, min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
        }
    }

    func measure(_ body: () async throws -> Void) async throws -> Run {
        for _ in 0..<20 { try await body() }   // warm-up: connections, tables
        var run = Run()
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < end {
            let t = ContinuousClock.now
            try await body()
            let d = ContinuousClock.now - t
            run.latencies.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        let total = ContinuousClock.now - start
        run.elapsed = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        return run
    }

    func row(_ label: String, _ r: Run) -> String {
        Table.pad(label, 34, left: true) + Table.pad(Table.fmt(r.opsPerSecond, 0), 12)
            + Table.pad(Table.fmt(r.quantile(0.5) * 1000, 3), 12) + Table.pad(Table.fmt(r.quantile(0.99) * 1000, 3), 12)
    }

    func best(_ runs: [Run]) -> Run { runs.max { $0.opsPerSecond < $1.opsPerSecond }! }

    func run() async throws {
        let kinds = engines.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        print("micro-bench sync — lock acquire+release, one at a time, \(Table.fmt(seconds, 1)) s runs, best of \(rounds); \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(Table.pad("subject", 34, left: true) + Table.pad("ops/s", 12) + Table.pad("p50 ms", 12) + Table.pad("p99 ms", 12))
        for kind in kinds {
            switch kind {
            case "etcd": try await benchEtcd()
            case "memory":
                let sync = StoreSync.memory()
                var runs: [Run] = []
                for _ in 0..<rounds { runs.append(try await measure { try await sync.lock("bench", ttl: .seconds(10), wait: .zero).release() }) }
                print(row("memory  StoreSync lock+release", best(runs)))
                await sync.shutdown()
            case "sqlite": try await benchSQLite()
            case "postgres": try await benchPostgres()
            default:
                throw ValidationError("unknown engine \(kind)")
            }
        }
    }

    func benchEtcd() async throws {
        var process: EtcdProcess?
        if etcd == nil { process = try await EtcdProcess() }
        defer { process?.stop() }
        let address = etcd ?? process!.addressList
        let client = try EtcdConnection(endpoints: [address])
        let sync = EtcdSync(client: client)
        let key = "/bench/raw/lock"
        var raw: [Run] = [], framework: [Run] = []
        for _ in 0..<rounds {
            raw.append(try await measure {
                let lease = try await client.grantLease(ttl: .seconds(10))
                let txn = try await client.txn(EtcdTxn(compare: [.absent(key)], success: [.put(key, Array("bench".utf8), lease: lease.id)]))
                guard txn.succeeded else { throw ValidationError("the raw lock was held") }
                try await client.delete(.key(key))
                try await client.revokeLease(lease.id)
            })
            framework.append(try await measure { try await sync.lock("bench", ttl: .seconds(10), wait: .zero).release() })
        }
        let r = best(raw), f = best(framework)
        print(row("etcd    raw grant+txn+delete+revoke", r))
        print(row("etcd    EtcdSync lock+release", f))
        print(Table.pad("etcd    EtcdSync / raw ops/s", 34, left: true) + Table.pad(Table.fmt(f.opsPerSecond / r.opsPerSecond, 2), 12)
              + "   (EtcdSync: get, grant, txn, revoke — the revoke deletes the key)")
        await client.shutdown()
    }

    /// Raw and framework runs alternating; prints both and their ratio.
    func compare(_ engine: String, raw rawLabel: String, _ raw: () async throws -> Void, framework: () async throws -> Void, note: String) async throws {
        var raws: [Run] = [], frameworks: [Run] = []
        for _ in 0..<rounds {
            raws.append(try await measure(raw))
            frameworks.append(try await measure(framework))
        }
        let r = best(raws), f = best(frameworks)
        let label = Table.pad(engine, 9, left: true)
        print(row(label + rawLabel, r))
        print(row(label + "StoreSync lock+release", f))
        print(Table.pad(label + "StoreSync / raw ops/s", 34, left: true) + Table.pad(Table.fmt(f.opsPerSecond / r.opsPerSecond, 2), 12) + "   (\(note))")
    }

    /// SQLite: the raw side is a connection of its own on the same file, as the store configures its
    /// writer, running the store's transaction (bump the revision, insert if absent or expired; delete at
    /// that revision) on a table of the same shape.
    func benchSQLite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("micro-bench-sync-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SQLiteStore(directory: directory)
        let rawTable = store.scoped(try StoreScope(database: StoreSync.defaultScope.database, table: "raw"))
        try await rawTable.write("setup", bytes: [])   // creates the raw side's table, as the store's
        _ = try await rawTable.delete("setup")
        let sync = StoreSync(store: store, ownsStore: true)
        let connection = try await SQLiteConnection.open(storage: .file(path: try store.path(of: StoreSync.defaultScope.database)))
        _ = try await connection.query("PRAGMA busy_timeout = 5000")
        _ = try await connection.query("PRAGMA synchronous = FULL")
        let table = "\"store_raw\""
        let bump = "UPDATE micro_store_sequence SET revision = revision + 1 WHERE id = 1 AND typeof(revision) = 'integer' AND revision >= 0 RETURNING revision"
        let acquire = """
            INSERT INTO \(table) (key, value, metadata, expiry, revision) VALUES (?, coalesce(?, x''), ?, ?, ?) ON CONFLICT (key) DO UPDATE
            SET value = excluded.value, metadata = excluded.metadata, expiry = excluded.expiry, revision = excluded.revision
            WHERE \(table).expiry IS NOT NULL AND \(table).expiry <= ? RETURNING revision
            """
        let release = "DELETE FROM \(table) WHERE key = ? AND revision = ? AND (expiry IS NULL OR expiry > ?) RETURNING revision"
        let holder = SQLiteData.blob(ByteBuffer(bytes: Array("bench".utf8)))
        let metadata = SQLiteData.text(StoreMetadataCoding.encode([:]))
        try await compare("sqlite", raw: "raw txn insert-if-absent+delete", {
            let now = Int(StoreClock.nowMilliseconds())
            _ = try await connection.query("BEGIN IMMEDIATE")
            guard let revision = try await connection.query(bump).first?.column("revision")?.integer,
                  try await !connection.query(acquire, [.text("lock/bench"), holder, metadata, .integer(now + 10_000), .integer(revision), .integer(now)]).isEmpty
            else { throw ValidationError("the raw lock was held") }
            _ = try await connection.query("COMMIT")
            guard try await !connection.query(release, [.text("lock/bench"), .integer(revision), .integer(now)]).isEmpty else {
                throw ValidationError("the raw lock was gone")
            }
        }, framework: { try await sync.lock("bench", ttl: .seconds(10), wait: .zero).release() },
           note: "sqlite-nio, one connection, WAL, synchronous=FULL; the same statements")
        try await connection.close().get()
        await sync.shutdown()
    }

    /// PostgreSQL: the raw side is postgres-nio's pooled client running the statements the store runs
    /// for a lock and a release, with the same binds.
    func benchPostgres() async throws {
        let server = try await PostgresProcess()
        defer { server.stop() }
        let store = try PostgresStore(url: server.url, scope: StoreSync.defaultScope)
        let sync = StoreSync(store: store, ownsStore: true)
        guard let rawTable = store.scoped(try StoreScope(database: StoreSync.defaultScope.database, table: "raw")) as? PostgresStore else {
            throw ValidationError("not a PostgresStore")
        }
        try await rawTable.write("setup", bytes: [])   // creates the raw side's table, as the store's
        _ = try await rawTable.delete("setup")
        let statements = rawTable.lockStatements
        var configuration = PostgresClient.Configuration(host: "127.0.0.1", port: server.port, username: "postgres", password: nil,
                                                         database: "postgres", tls: .disable)
        configuration.options.maximumConnections = store.configuration.maximumConnections
        let client = PostgresClient(configuration: configuration)
        let holder = ByteBuffer(bytes: Array("bench".utf8))
        let metadata = StoreMetadataCoding.encode([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await compare("postgres", raw: "raw insert-if-absent+delete", {
                let now = StoreClock.nowMilliseconds()
                var acquire = PostgresBindings(capacity: 5)
                acquire.append("lock/bench"); acquire.append(holder); acquire.append(metadata); acquire.append(now + 10_000); acquire.append(now)
                let rows = try await client.query(PostgresQuery(unsafeSQL: statements.acquire, binds: acquire)).collect()
                guard let revision = try rows.first?.decode(Int64.self) else { throw ValidationError("the raw lock was held") }
                var release = PostgresBindings(capacity: 3)
                release.append("lock/bench"); release.append(revision); release.append(now)
                guard try await !client.query(PostgresQuery(unsafeSQL: statements.release, binds: release)).collect().isEmpty else {
                    throw ValidationError("the raw lock was gone")
                }
            }, framework: { try await sync.lock("bench", ttl: .seconds(10), wait: .zero).release() },
               note: "postgres-nio PostgresClient, \(configuration.options.maximumConnections) connections; the same statements")
        }
        await sync.shutdown()
    }
}
