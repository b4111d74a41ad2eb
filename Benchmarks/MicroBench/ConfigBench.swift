import ArgumentParser
import Configuration
import EtcdClient
import Foundation
import Micro
import MicroConfig
import MicroEtcd
import MicroTestSupport
import NIOConcurrencyHelpers
import NIOCore

/// `micro-bench config`: (1) a hot read of a typed value through MicroConfig — a `ConfigReader` over a
/// ``ConfigSourceProvider`` and ``ConfigSection/value`` — against a plain swift-configuration
/// `ConfigReader` over its `InMemoryProvider` holding the same value, in the same run; (2) the time
/// from an etcd put to the new value in a section watcher, against a raw etcd watch of the same key.
struct ConfigBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Hot typed reads against plain swift-configuration; etcd put → watcher latency.")

    @Option(help: "Reads per measured run.") var reads: Int = 2_000_000
    @Option(help: "Rounds: the read paths alternate this many times; the median per-round ratio and its spread are reported.") var rounds: Int = 5
    @Option(help: "etcd puts measured (each waits for the watchers before the next).") var samples: Int = 300
    @Option(help: "The MicroConfig/plain read-rate ratio to reach.") var target: Double = 0.9

    func validate() throws {
        guard reads >= 1000, rounds >= 1, samples >= 10, samples <= 100_000 else { throw ValidationError("reads ≥ 1000, rounds ≥ 1, samples 10...100000") }
    }

    struct Bench: Codable, Equatable, Sendable {
        var seq: Int
        var limits: Limits
        struct Limits: Codable, Equatable, Sendable { var max: Int }
    }

    func run() async throws {
        print("micro-bench config — \(System.coreCount) cores; \(reads) reads per run, \(rounds) rounds; \(samples) etcd puts")
        try await hotReads()
        try await watchLatency()
    }

    private func hotReads() async throws {
        let key: ConfigKey = "bench.limits.max"
        let plain = ConfigReader(provider: InMemoryProvider(values: ["bench.limits.max": 42, "bench.seq": 1]))
        let source = MemoryConfigSource([ConfigEntry(path: try ConfigPath("bench"), document: Array(#"{"seq":1,"limits":{"max":42}}"#.utf8))])
        let provider = await ConfigSourceProvider(source: source, home: nil)
        let ours = ConfigReader(provider: provider)
        let section = ConfigSection("bench", reader: ours, default: Bench(seq: 0, limits: .init(max: 0)))
        guard plain.int(forKey: key) == 42, ours.int(forKey: key) == 42, section.value.limits.max == 42 else {
            throw ValidationError("the readers disagree")
        }
        let count = reads
        func measure(_ read: () -> Int) -> Double {
            var sum = 0
            let start = ContinuousClock.now
            for _ in 0..<count { sum &+= read() }
            let elapsed = ContinuousClock.now - start
            precondition(sum == 42 &* count)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Double(count) / seconds
        }
        var best = (plain: 0.0, ours: 0.0, section: 0.0)
        var ratios = RoundRatios()
        for round in 1...rounds {
            // Alternate which path runs first, so drift in the machine's load favours neither.
            var p = 0.0, o = 0.0
            if round % 2 == 1 {
                p = measure { plain.int(forKey: key) ?? 0 }
                o = measure { ours.int(forKey: key) ?? 0 }
            } else {
                o = measure { ours.int(forKey: key) ?? 0 }
                p = measure { plain.int(forKey: key) ?? 0 }
            }
            let s = measure { section.value.limits.max }
            ratios.append(o / p)
            print("  round \(round)  plain ConfigReader \(Self.rate(p))   MicroConfig reader \(Self.rate(o))   ConfigSection.value \(Self.rate(s))"
                  + "   ours/plain \(Table.fmt(o / p, 3))")
            best = (max(best.plain, p), max(best.ours, o), max(best.section, s))
        }
        print("")
        print("hot read of an Int (best runs)")
        print("  plain swift-configuration ConfigReader (InMemoryProvider)  \(Self.rate(best.plain))   \(Self.ns(best.plain)) ns/read")
        print("  ConfigReader over ConfigSourceProvider (our path)          \(Self.rate(best.ours))   \(Self.ns(best.ours)) ns/read")
        print("  ConfigSection<T>.value                                      \(Self.rate(best.section))   \(Self.ns(best.section)) ns/read")
        print("  ratio ours/plain, round by round: \(ratios.summary); best runs \(Table.fmt(best.ours / best.plain, 3))")
        print("  target ≥ \(Table.fmt(target, 2)) on the median: \(ratios.median >= target ? "met" : "NOT met")")
        print("  ratio section/plain: \(Table.fmt(best.section / best.plain, 2))")
        await source.shutdown()
    }

    private func watchLatency() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        let writer = try EtcdConnection(configuration: EtcdConfiguration(addresses: etcd.addressList))
        let key = EtcdConfigSource.defaultPrefix + "/bench"
        func document(_ seq: Int) -> [UInt8] { Array(#"{"seq":\#(seq),"limits":{"max":42}}"#.utf8) }
        try await writer.put(key, value: document(0))

        let source = try EtcdConfigSource(addresses: etcd.addressList)
        let provider = await ConfigSourceProvider(source: source, home: nil)
        let reader = ConfigReader(provider: provider)
        let rawClient = try EtcdConnection(configuration: EtcdConfiguration(addresses: etcd.addressList))
        let arrivals = NIOLockedValueBox<(section: [Int: ContinuousClock.Instant], raw: [Int: ContinuousClock.Instant])>(([:], [:]))
        var sectionLatencies: [Double] = []
        var rawLatencies: [Double] = []
        let clock = ContinuousClock()
        let samples = self.samples

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await provider.run() }
            group.addTask {
                try await reader.watchSection("bench", as: Bench.self) { updates in
                    for await value in updates {
                        let now = clock.now
                        arrivals.withLockedValue { $0.section[value.seq] = now }
                        if value.seq == samples { return }
                    }
                }
            }
            group.addTask {
                for try await response in rawClient.watch(.key(key)) {
                    let now = clock.now
                    for event in response.events {
                        if let value = try? JSONDecoder().decode(Bench.self, from: Data(event.kv.value)) {
                            arrivals.withLockedValue { $0.raw[value.seq] = now }
                            if value.seq == samples { return }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            for seq in 1...samples {
                let start = clock.now
                try await writer.put(key, value: document(seq))
                let deadline = start + .seconds(10)
                while clock.now < deadline {
                    let done = arrivals.withLockedValue { $0.section[seq] != nil && $0.raw[seq] != nil }
                    if done { break }
                    try await Task.sleep(for: .microseconds(50))
                }
                let (s, r) = arrivals.withLockedValue { ($0.section[seq], $0.raw[seq]) }
                if let s { sectionLatencies.append(Self.millis(s - start)) }
                if let r { rawLatencies.append(Self.millis(r - start)) }
            }
            group.cancelAll()
        }
        await source.shutdown()
        await rawClient.shutdown()
        await writer.shutdown()
        print("")
        print("etcd put → new value (\(samples) puts, one at a time; etcd 1 member on loopback)")
        print("  raw etcd watch of the key          \(Self.percentiles(rawLatencies))   (\(rawLatencies.count) seen)")
        print("  ConfigReader.watchSection (ours)   \(Self.percentiles(sectionLatencies))   (\(sectionLatencies.count) seen)")
    }

    static func rate(_ perSecond: Double) -> String { Table.pad(Table.fmt(perSecond / 1e6, 2) + " M/s", 11) }
    static func ns(_ perSecond: Double) -> String { Table.fmt(1e9 / perSecond, 1) }
    static func millis(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }
    static func percentiles(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "no samples" }
        let sorted = values.sorted()
        func p(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))] }
        return "p50 \(Table.fmt(p(0.5), 2)) ms   p99 \(Table.fmt(p(0.99), 2)) ms   max \(Table.fmt(sorted.last!, 2)) ms"
    }
}
