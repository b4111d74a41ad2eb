import ArgumentParser
import Foundation
import MicroCore
import MicroNATS
import MicroTestSupport
import NATSClient
import NIOCore
import Synchronization

/// `micro-bench events`: acknowledged publishes and consumed (acknowledged) events per second through
/// ``NATSEventStream`` on a `nats-server -js` (file storage) it starts, against nats-py doing the same
/// on the same server in the same run.
struct EventsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "JetStream event stream: acknowledged publish/s and consume/s, MicroNATS against nats-py, on a nats-server -js it starts.")

    @Option(help: "Events per publish run (each consume run reads the events its publish run wrote).")
    var events: Int = 20_000
    @Option(help: "Publishes in flight at once (tasks for MicroNATS, asyncio tasks for nats-py).")
    var concurrency: Int = 16
    @Option(help: "Payload bytes per event.")
    var size: Int = 128
    @Option(help: "Messages one consumer fetch asks for (both sides).")
    var batch: Int = 64
    @Option(help: "Rounds: MicroNATS and nats-py runs alternate; the best of each is reported.")
    var rounds: Int = 2
    @Option(help: "The Python with nats-py (default: $MICRO_TEST_PYTHON, .venv/bin/python).")
    var python: String?
    @Option(help: "The nats-server binary (default: $MICRO_NATS_SERVER, /usr/sbin/nats-server).")
    var natsServer: String?

    func validate() throws {
        guard events >= 100, concurrency >= 1, size >= 1, size <= 256 << 10, batch >= 1, rounds >= 1 else {
            throw ValidationError("events ≥ 100, concurrency ≥ 1, size 1 B to 256 KiB, batch ≥ 1, rounds ≥ 1")
        }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-events-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try NATSServerRun(binary: natsServer, arguments: ["-js", "-sd", directory.appendingPathComponent("js").path])
        defer { server.stop() }
        let pythonPath = try python ?? testPython()
        let script = directory.appendingPathComponent("bench.py")
        try Self.pythonScript.write(to: script, atomically: true, encoding: .utf8)
        print("micro-bench events — nats-server -js (file storage) on 127.0.0.1:\(server.port); \(System.coreCount) cores")
        print("\(events) events of \(size) B per run, \(concurrency) publishes in flight, fetches of \(batch); best of \(rounds)")
        print("publish: each waits for the stream's acknowledgement; consume: a durable pull consumer from the start, every event acknowledged")
        let version = try await Self.natsPyVersion(pythonPath)
        print("baseline: nats-py \(version) (js.publish with the same headers; pull_subscribe + fetch + msg.ack)")
        print("")

        var configuration = NATSEventsConfiguration()
        configuration.fetchBatch = batch
        let stream = NATSEventStream(options: NATSOptions(servers: [server.url]), configuration: configuration)
        // Make the stream before either side runs.
        try await stream.publish("bench.warmup", [1])
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        var microPublish: [Double] = [], microConsume: [Double] = [], pyPublish: [Double] = [], pyConsume: [Double] = []
        for round in 0..<rounds {
            let topic = "bench.r\(round).micro"
            microPublish.append(try await publish(stream, topic: topic, payload: payload))
            microConsume.append(try await consume(stream, topic: topic))
            let outcome = try await ChildProcess.outcome(pythonPath, [script.path, server.url, "micro.events.bench.r\(round).py", "\(events)",
                                                                "\(concurrency)", "\(size)", "\(batch)"], timeout: .seconds(600))
            guard outcome.status == 0, let line = outcome.stdout.split(separator: "\n").last,
                  let result = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
                  let pub = result["publish"], let con = result["consume"] else {
                throw BenchError("nats-py run failed (status \(outcome.status)): \(outcome.stderr.suffix(800))")
            }
            pyPublish.append(pub)
            pyConsume.append(con)
        }
        func row(_ name: String, _ micro: [Double], _ py: [Double]) {
            let m = micro.max() ?? 0, p = py.max() ?? 0
            print(Table.pad(name, 22, left: true) + "  MicroNATS " + Table.pad(Table.fmt(m, 0), 8) + "   nats-py " + Table.pad(Table.fmt(p, 0), 8)
                  + "  events/s   ratio " + Table.fmt(p > 0 ? m / p : 0, 2))
        }
        row("acknowledged publish", microPublish, pyPublish)
        row("consume + ack", microConsume, pyConsume)
        await stream.shutdown()
    }

    /// Publishes `events` events from `concurrency` tasks; events per second.
    private func publish(_ stream: NATSEventStream, topic: String, payload: [UInt8]) async throws -> Double {
        let per = events / concurrency, extra = events % concurrency
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for n in 0..<(per + (worker < extra ? 1 : 0)) {
                        try await stream.publish(topic, payload, metadata: ["n": "\(n)"], id: "w\(worker)-\(n)")
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(events) / Self.seconds(ContinuousClock.now - started)
    }

    /// Consumes and acknowledges the topic's `events` events with one group member; events per second.
    private func consume(_ stream: NATSEventStream, topic: String) async throws -> Double {
        let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "bench", start: .beginning))
        let started = ContinuousClock.now
        var seen = 0
        for try await event in consumer {
            try await event.ack()
            seen += 1
            if seen == events { break }
        }
        let elapsed = ContinuousClock.now - started
        await consumer.close()
        guard seen == events else { throw BenchError("consumed \(seen) of \(events) events") }
        return Double(events) / Self.seconds(elapsed)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }

    private static func natsPyVersion(_ python: String) async throws -> String {
        let outcome = try await ChildProcess.outcome(python, ["-c", "import importlib.metadata as m; print(m.version('nats-py'))"], timeout: .seconds(30))
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// nats-py doing what the Swift side does: publishes with the event headers (each awaiting its
    /// acknowledgement, `concurrency` at once), then a durable pull consumer fetching and acking them all.
    static let pythonScript = #"""
    import asyncio, json, sys, time
    import nats

    async def main():
        url, subject, events, concurrency, size, batch = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
        nc = await nats.connect(url)
        js = nc.jetstream()
        payload = b"x" * size
        per, extra = divmod(events, concurrency)

        async def worker(w):
            for n in range(per + (1 if w < extra else 0)):
                event_id = f"w{w}-{n}"
                headers = {"Nats-Msg-Id": f"{subject}/{event_id}", "Micro-Event-Id": event_id,
                           "Micro-Event-Time": str(int(time.time() * 1000)), "Micro-Event-Metadata": json.dumps({"n": str(n)})}
                await js.publish(subject, payload, headers=headers, stream="MICRO_EVENTS")

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        publish = events / (time.perf_counter() - start)

        sub = await js.pull_subscribe(subject, durable="bench-py", stream="MICRO_EVENTS")
        start = time.perf_counter()
        seen = 0
        while seen < events:
            try:
                msgs = await sub.fetch(batch, timeout=1)
            except nats.errors.TimeoutError:
                continue
            for msg in msgs:
                await msg.ack()
                seen += 1
        consume = events / (time.perf_counter() - start)
        await nc.close()
        print(json.dumps({"publish": publish, "consume": consume}))

    asyncio.run(main())
    """#
}
