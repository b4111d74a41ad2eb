import MicroNATS
import NATSClient
import NIOCore

/// MicroNATS's side of the NATS rows (`micro-bench nats` against a raw socket, `micro-bench peers`
/// against nats.go): publish, publish→subscribe and sequential request/reply on a running nats-server.
struct MicroNATSRuns {
    let url: String
    /// Messages per publish and publish→subscribe run.
    let messages: Int
    /// Requests per request/reply run.
    let requests: Int

    /// Publishes `messages` messages then flushes: msgs/s.
    func publish(payload: [UInt8], subject: String = "bench.pub") async throws -> Double {
        let connection = try await NATSConnection.connect(NATSOptions(servers: [url]))
        let body = ByteBuffer(bytes: payload)
        let t0 = nowNanos()
        for _ in 0..<messages { try await connection.publish(subject, payload: body) }
        try await connection.flush(timeout: .seconds(60))
        let rate = Double(messages) / (Double(nowNanos() - t0) / 1e9)
        await connection.close()
        return rate
    }

    /// One connection publishes `messages` messages, another's subscription counts them: delivered/s from
    /// the first publish to the last delivery.
    func pubSub(payload: [UInt8]) async throws -> Double {
        let subscriberConnection = try await NATSConnection.connect(NATSOptions(servers: [url]))
        let subscription = try subscriberConnection.subscribe("bench.sub")
        try await subscriberConnection.flush()
        let publisher = try await NATSConnection.connect(NATSOptions(servers: [url]))
        let expected = messages
        let body = ByteBuffer(bytes: payload)
        let t0 = nowNanos()
        let (count, end) = try await withThrowingTaskGroup(of: (Int, UInt64).self) { group in
            group.addTask {
                var n = 0
                for await _ in subscription {
                    n += 1
                    if n == expected { break }
                }
                return (n, nowNanos())
            }
            group.addTask {
                for _ in 0..<expected { try await publisher.publish("bench.sub", payload: body) }
                try await publisher.flush(timeout: .seconds(60))
                try await Task.sleep(for: .seconds(60))
                throw BenchError("MicroNATS subscriber did not get \(expected) messages within 60 s (dropped: \(subscription.droppedMessages))")
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        await publisher.close()
        await subscriberConnection.close()
        guard count == expected else { throw BenchError("MicroNATS subscriber got \(count) of \(expected)") }
        return Double(count) / (Double(end - t0) / 1e9)
    }

    /// `requests` sequential 16-byte requests answered by a handler subscription on another connection: each one's latency in ns.
    func requestLatencies() async throws -> [UInt64] {
        let responderConnection = try await NATSConnection.connect(NATSOptions(servers: [url]))
        // The responder answers in a handler subscription, on the event loop as each request is read
        // (as the raw responder answers on its reader thread).
        let subscription = try responderConnection.subscribe("bench.echo.micro") { message in
            if let reply = message.replyTo { try? responderConnection.tryPublish(reply, payload: message.payload) }
        }
        try await responderConnection.flush()
        let requester = try await NATSConnection.connect(NATSOptions(servers: [url]))
        let body = ByteBuffer(string: "0123456789abcdef")
        let count = requests
        let latencies = try await withThrowingTaskGroup(of: [UInt64]?.self) { group in
            group.addTask {
                for await _ in subscription {}
                return nil
            }
            group.addTask {
                var latencies: [UInt64] = []
                latencies.reserveCapacity(count)
                for _ in 0..<count {
                    let t0 = nowNanos()
                    _ = try await requester.request("bench.echo.micro", payload: body, timeout: .seconds(5))
                    latencies.append(nowNanos() - t0)
                }
                return latencies
            }
            var result: [UInt64] = []
            while let next = try await group.next() {
                if let l = next { result = l; try subscription.unsubscribe(); break }
            }
            group.cancelAll()
            return result
        }
        await requester.close()
        await responderConnection.close()
        return latencies
    }
}
