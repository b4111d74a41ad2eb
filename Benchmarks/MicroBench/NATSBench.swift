import ArgumentParser
import Foundation
import MicroNATS
import NATSClient
import MicroTestSupport
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

struct NATSBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nats",
        abstract: "MicroNATS publish, publish→subscribe and request/reply against a raw socket speaking NATS by hand, on a nats-server it starts.")

    @Option(help: "Messages per publish and publish→subscribe run (long enough to measure a steady rate: 200,000 1 KiB messages took under 50 ms).")
    var messages: Int = 1_000_000
    @Option(help: "Requests per request/reply run.")
    var requests: Int = 20_000
    @Option(help: "Rounds: raw and MicroNATS runs alternate; the best of each is reported.")
    var rounds: Int = 3
    @Option(help: "The MicroNATS/raw ratio to reach.")
    var target: Double = 0.8
    @Option(help: "Payload sizes of the publish rows, comma-separated.")
    var sizes: String = "16,1024"
    @Option(help: "Run only these subjects, comma-separated: raw, micro, encoding (for profiling one of them). `encoding` is a second publish baseline that copies each frame into its batch as it goes (what any client that encodes per publish must do at least).")
    var only: String = "raw,micro,encoding"
    @Flag(help: "Skip the request/reply rows.")
    var skipRequests = false
    @Flag(help: "Skip the publish→subscribe rows.")
    var skipPubsub = false
    @Option(help: "The nats-server binary (default: $MICRO_NATS_SERVER, /usr/sbin/nats-server).")
    var natsServer: String?

    func validate() throws {
        guard messages >= 1000, requests >= 100, rounds >= 1 else { throw ValidationError("messages ≥ 1000, requests ≥ 100, rounds ≥ 1") }
        guard !sizeList.isEmpty, sizeList.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else { throw ValidationError("sizes: 1 B to 1 MiB") }
        guard !subjects.isEmpty, subjects.isSubset(of: ["raw", "micro", "encoding"]) else { throw ValidationError("only: raw, micro, encoding") }
    }

    private var sizeList: [Int] { sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    private var subjects: Set<String> { Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }

    func run() async throws {
        let server = try NATSServerRun(binary: natsServer)
        defer { server.stop() }
        print("micro-bench nats — nats-server on 127.0.0.1:\(server.port); \(System.coreCount) cores")
        print("publish and publish→subscribe: \(messages) messages per run; request/reply: \(requests) sequential requests; best of \(rounds)")
        print("raw: a blocking socket writing pre-encoded PUB frames and parsing MSG lines by hand, no client library")
        print("request/reply responders answer where they read: raw on its reader thread, MicroNATS in a handler subscription (tryPublish on the event loop)")
        print("")
        var ratios: [(String, Double)] = []
        let microRuns = MicroNATSRuns(url: server.url, messages: messages, requests: requests)
        let doRaw = subjects.contains("raw"), doMicro = subjects.contains("micro"), doEncoding = subjects.contains("encoding")
        for size in sizeList {
            let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
            var raw: [Double] = [], micro: [Double] = [], encoding: [Double] = []
            for _ in 0..<rounds {
                if doRaw { raw.append(try rawPublish(port: server.port, payload: payload)) }
                if doMicro { micro.append(try await microRuns.publish(payload: payload)) }
                if doEncoding { encoding.append(try encodingPublish(port: server.port, payload: payload)) }
            }
            if let r = row("publish \(size) B", raw.max(), micro.max(), unit: "msgs/s") { ratios.append(r) }
            if let best = encoding.max() {
                var notes: [String] = []
                if let raw = raw.max() { notes.append("\(Table.fmt(best / raw, 3)) of raw") }
                if let micro = micro.max() { notes.append("MicroNATS is \(Table.fmt(micro / best, 3)) of it") }
                print(Table.pad("  raw encoding each frame", 28, left: true) + "      " + Table.pad(Table.fmt(best, 0), 10) + "  msgs/s"
                      + (notes.isEmpty ? "" : "  (" + notes.joined(separator: "; ") + ")"))
            }
            if skipPubsub { continue }
            raw = []; micro = []
            for _ in 0..<rounds {
                if doRaw { raw.append(try rawPubSub(port: server.port, payload: payload)) }
                if doMicro { micro.append(try await microRuns.pubSub(payload: payload)) }
            }
            if let r = row("publish→subscribe \(size) B", raw.max(), micro.max(), unit: "msgs/s delivered") { ratios.append(r) }
        }
        if !skipRequests {
            var rawLatency: [[UInt64]] = [], microLatency: [[UInt64]] = []
            for _ in 0..<rounds {
                if doRaw { rawLatency.append(try rawRequests(port: server.port)) }
                if doMicro { microLatency.append(try await microRuns.requestLatencies()) }
            }
            let bestRaw = rawLatency.min { median($0) < median($1) }
            let bestMicro = microLatency.min { median($0) < median($1) }
            print("")
            print("request/reply 16 B (sequential)      p50 ms    p99 ms     req/s")
            for (label, l) in [("raw socket", bestRaw), ("MicroNATS request()", bestMicro)] {
                guard let l else { continue }
                print(Table.pad(label, 32, left: true) + Table.pad(Table.fmt(percentile(l, 50), 3), 10) + Table.pad(Table.fmt(percentile(l, 99), 3), 10)
                      + Table.pad(Table.fmt(Double(l.count) / (Double(l.reduce(0, +)) / 1e9), 0), 10))
            }
            if let bestRaw, let bestMicro { ratios.append(("request/reply (p50 raw / p50 micro)", median(bestRaw) / median(bestMicro))) }
        }
        print("")
        for (name, ratio) in ratios { print(Table.ratioRow(name, ratio, target: target)) }
    }

    private func row(_ name: String, _ raw: Double?, _ micro: Double?, unit: String) -> (String, Double)? {
        print(Table.pad(name, 28, left: true) + "  raw " + Table.pad(raw.map { Table.fmt($0, 0) } ?? "-", 10)
              + "   MicroNATS " + Table.pad(micro.map { Table.fmt($0, 0) } ?? "-", 10) + "  " + unit)
        guard let raw, let micro else { return nil }
        return (name, micro / raw)
    }

    // MARK: Publish only

    /// Frames pre-encoded in batches of 1000, written straight to the socket; a PING/PONG at the end
    /// proves the server read them all.
    private func rawPublish(port: Int, payload: [UInt8], subject: String = "bench.pub") throws -> Double {
        let socket = try RawNATSSocket(port: port)
        let batch = 1000
        var frames: [UInt8] = []
        for _ in 0..<batch { frames += Array("PUB \(subject) \(payload.count)\r\n".utf8) + payload + [13, 10] }
        let t0 = nowNanos()
        var sent = 0
        while sent < messages {
            try socket.write(frames)
            sent += batch
        }
        try socket.ping()
        return Double(sent) / (Double(nowNanos() - t0) / 1e9)
    }

    /// Like ``rawPublish(port:payload:subject:)``, but each frame is copied into the batch as it is published
    /// (header, payload, CRLF; 1 MiB batches, blocking writes): the least work a client that encodes per publish
    /// does, to tell the cost of encoding from the client's own.
    private func encodingPublish(port: Int, payload: [UInt8], subject: String = "bench.pub") throws -> Double {
        let socket = try RawNATSSocket(port: port)
        let header = Array("PUB \(subject) \(payload.count)\r\n".utf8)
        let frame = header.count + payload.count + 2
        let limit = 1 << 20
        let batch = UnsafeMutableRawBufferPointer.allocate(byteCount: limit + frame, alignment: 16)
        defer { batch.deallocate() }
        var used = 0
        let t0 = nowNanos()
        try header.withUnsafeBytes { header in
            try payload.withUnsafeBytes { payload in
                for _ in 0..<messages {
                    let at = batch.baseAddress! + used
                    at.copyMemory(from: header.baseAddress!, byteCount: header.count)
                    (at + header.count).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                    at.storeBytes(of: 0x0A0D, toByteOffset: header.count + payload.count, as: UInt16.self)
                    used += frame
                    if used >= limit {
                        try socket.write(UnsafeRawBufferPointer(rebasing: batch[0..<used]))
                        used = 0
                    }
                }
            }
        }
        try socket.write(UnsafeRawBufferPointer(rebasing: batch[0..<used]))
        try socket.ping()
        return Double(messages) / (Double(nowNanos() - t0) / 1e9)
    }

    // MARK: Publish → subscribe

    /// A raw subscriber counts MSGs on its own thread while a raw publisher sends; delivered/s from
    /// the first publish to the last delivery.
    private func rawPubSub(port: Int, payload: [UInt8]) throws -> Double {
        let subscriber = try RawNATSSocket(port: port)
        try subscriber.write(Array("SUB bench.sub 1\r\n".utf8))
        try subscriber.ping()
        let expected = messages
        let done = NIOLockedValueBox<(count: Int, end: UInt64, error: String?)>((0, 0, nil))
        let reader = Thread {
            var n = 0
            do {
                while n < expected { _ = try subscriber.nextMessage(); n += 1 }
            } catch { done.withLockedValue { $0.error = "\(error)" } }
            done.withLockedValue { $0.count = n; $0.end = nowNanos() }
        }
        reader.start()
        let t0 = nowNanos()
        _ = try rawPublish(port: port, payload: payload, subject: "bench.sub")
        let deadline = nowNanos() + 60_000_000_000
        while done.withLockedValue({ $0.end }) == 0 && nowNanos() < deadline { usleep(1000) }
        let (count, end, error) = done.withLockedValue { $0 }
        subscriber.shutdownBoth()
        if let error { throw BenchError("raw subscriber: \(error)") }
        guard count == expected else { throw BenchError("raw subscriber got \(count) of \(expected)") }
        return Double(count) / (Double(end - t0) / 1e9)
    }

    // MARK: Request / reply

    private func rawRequests(port: Int) throws -> [UInt64] {
        let responder = try RawNATSSocket(port: port)
        try responder.write(Array("SUB bench.echo.raw 1\r\n".utf8))
        try responder.ping()
        let reply16 = Array("0123456789abcdef".utf8)
        let serving = Thread {
            while let (reply, _) = try? responder.nextMessage() {
                guard let reply else { continue }
                if (try? responder.write(Array("PUB \(reply) 16\r\n".utf8) + reply16 + [13, 10])) == nil { return }
            }
        }
        serving.start()
        let requester = try RawNATSSocket(port: port)
        try requester.write(Array("SUB _INBOX.raw.* 1\r\n".utf8))
        try requester.ping()
        let frame = Array("PUB bench.echo.raw _INBOX.raw.1 16\r\n".utf8) + reply16 + [13, 10]
        var latencies: [UInt64] = []
        latencies.reserveCapacity(requests)
        for _ in 0..<requests {
            let t0 = nowNanos()
            try requester.write(frame)
            _ = try requester.nextMessage()
            latencies.append(nowNanos() - t0)
        }
        requester.shutdownBoth()
        responder.shutdownBoth()
        return latencies
    }

    private func percentile(_ l: [UInt64], _ p: Double) -> Double {
        let sorted = l.sorted()
        let rank = max(0, min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1e6
    }

    private func median(_ l: [UInt64]) -> Double { percentile(l, 50) }
}

/// A nats-server started for the benchmark on a free loopback port, killed by its pid at the end.
final class NATSServerRun {
    let port: Int
    var url: String { "nats://127.0.0.1:\(port)" }
    private let process: SpawnedProcess

    init(binary: String?, arguments: [String] = []) throws {
        let candidates = [binary, ProcessInfo.processInfo.environment["MICRO_NATS_SERVER"], "/usr/sbin/nats-server", "/usr/bin/nats-server"].compactMap { $0 }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchError("nats-server not found (apt-get install nats-server, or --nats-server PATH)")
        }
        port = try freePort()
        process = try SpawnedProcess(path, ["-a", "127.0.0.1", "-p", "\(port)"] + arguments)
        for _ in 0..<500 {
            if (try? RawNATSSocket(port: port)) != nil { return }
            usleep(10_000)
        }
        stop()
        throw BenchError("nats-server did not start on port \(port)")
    }

    func stop() {
        process.terminate()
    }
}
