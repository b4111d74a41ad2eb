import ArgumentParser
import EtcdClient
import Foundation
import Micro
import MicroEtcd
import MicroTestSupport

/// `micro-bench sync`: lock acquire+release latency, one caller at a time, on etcd against the raw
/// etcd client calls doing the same (lease grant, transaction put if absent, delete, lease revoke) in
/// the same run, and on the memory and SQLite engines.
struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Lock acquire+release latency on etcd (against raw etcd client calls), memory and SQLite.")

    @Option(help: "Engines, comma-separated, from: etcd, memory, sqlite.")
    var engines: String = "etcd,memory,sqlite"
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
            case "sqlite":
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("micro-bench-sync-\(UUID().uuidString.prefix(8))").path
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let sync = StoreSync(store: SQLiteStore(directory: directory), ownsStore: true)
                var runs: [Run] = []
                for _ in 0..<rounds { runs.append(try await measure { try await sync.lock("bench", ttl: .seconds(10), wait: .zero).release() }) }
                print(row("sqlite  StoreSync lock+release", best(runs)))
                await sync.shutdown()
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
}
