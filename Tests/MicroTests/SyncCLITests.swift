import Foundation
import Micro
import MicroPostgres
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// `micro sync` as a user runs it, across processes on a real etcd; and `micro events read` and
    /// `micro store --local` on a real PostgreSQL, which the CLI links.
    @Suite struct SyncCLI {
        static func lines(_ text: String) -> [[String: Any]] {
            text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        static func token(_ text: String, _ key: String) -> Int? {
            lines(text).compactMap { $0[key] as? Int }.first
        }

        @Test func lockLeaderAndObserveAcrossProcessesOnEtcd() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let etcd = try await EtcdProcess()
            defer { etcd.stop() }
            let env = ["MICRO_SYNC": "etcd", "MICRO_SYNC_ADDRESS": etcd.addressList]

            // An observer in its own process, and a lock held until Ctrl-C by another.
            let observer = try h.start("micro", ["sync", "observe", "primary"], environment: env, label: "observer")
            #expect(await observer.waitForOutput(containing: "\"holder\":null", timeout: .seconds(15)), "\(observer.output)")
            let holder = try h.start("micro", ["sync", "lock", "build", "--ttl", "3s", "--holder", "first"], environment: env, label: "holder")
            #expect(await holder.waitForOutput(containing: "\"token\"", timeout: .seconds(15)), "\(holder.output)")
            let firstToken = try #require(Self.token(holder.output, "token"), "\(holder.output)")

            // Held: a third process gives up after its wait, with a timeout error and status 1.
            let refused = try await h.run("micro", ["sync", "lock", "build", "--ttl", "3s", "--wait", "500ms", "--", "true"], environment: env)
            #expect(refused.status == 1 && refused.stderr.contains("timeout") && refused.stdout.isEmpty, "\(refused)")

            // Ctrl-C releases it (status 0); the next holder runs its command with a greater token and
            // exits with the command's status.
            holder.signal(SIGINT)
            #expect(await holder.waitForExit(timeout: .seconds(10)) && holder.terminationStatus == 0, "\(holder.output)")
            let next = try await h.run("micro", ["sync", "lock", "build", "--ttl", "3s", "--wait", "5s", "--",
                                                 "sh", "-c", "echo \"ran $MICRO_SYNC_TOKEN\"; exit 3"], environment: env)
            #expect(next.status == 3, "\(next)")
            let nextToken = try #require(Self.token(next.stdout, "token"), "\(next)")
            #expect(nextToken > firstToken)
            #expect(next.stdout.contains("ran \(nextToken)"), "the command sees its fencing token: \(next)")

            // A leader for the length of a command; the observer saw it come and go.
            let led = try await h.run("micro", ["sync", "leader", "primary", "--ttl", "3s", "--holder", "node-a", "--", "sleep", "0.3"],
                                      environment: env)
            #expect(led.status == 0, "\(led)")
            let term = try #require(Self.token(led.stdout, "term"), "\(led)")
            #expect(await observer.waitForOutput(containing: "\"holder\":\"node-a\"", timeout: .seconds(10)), "\(observer.output)")
            #expect(await poll(timeout: .seconds(10)) { Self.lines(observer.output).count >= 3 }, "\(observer.output)")
            let seen = Self.lines(observer.output).map { ($0["holder"] as? String, $0["term"] as? Int) }
            #expect(seen.map(\.0) == [nil, "node-a", nil], "\(observer.output)")
            #expect(seen.dropFirst().first?.1 == term)
            observer.signal(SIGTERM)

            // A bad name is one line and status 1.
            let bad = try await h.run("micro", ["sync", "lock", "bad name"], environment: env)
            #expect(bad.exited && bad.status == 1 && bad.stderr.contains("invalidName"), "\(bad)")
        }

        @Test func eventsReadAndLocalStoreReachPostgres() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let postgres = try await PostgresProcess()
            defer { postgres.stop() }
            let store = try PostgresEventStore(configuration: try PostgresStoreConfiguration(url: postgres.url))
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            for n in 1...3 {
                try await store.write(Event(topic: "orders.created", payload: Array("{\"n\":\(n)}".utf8), id: "e\(n)",
                                            timestamp: start.addingTimeInterval(Double(n))))
            }
            await store.shutdown()

            let env = ["MICRO_EVENT_STORE": "postgres", "MICRO_EVENT_STORE_ADDRESS": postgres.url]
            let read = try await h.run("micro", ["events", "read", "orders.created", "--descending", "--limit", "2"], environment: env)
            #expect(read.status == 0, "\(read)")
            #expect(Self.lines(read.stdout).map { $0["id"] as? String } == ["e3", "e2"], "\(read)")
            let from = try await h.run("micro", ["events", "read", "orders.created", "--from", "\(Int(start.timeIntervalSince1970) + 2)"],
                                       environment: env)
            #expect(Self.lines(from.stdout).map { $0["payload"] as? String } == ["{\"n\":2}", "{\"n\":3}"], "\(from)")

            let storeEnv = ["MICRO_STORE": "postgres", "MICRO_STORE_ADDRESS": postgres.url]
            #expect(try await h.run("micro", ["store", "write", "--local", "greeting", "hello"], environment: storeEnv).status == 0)
            let value = try await h.run("micro", ["store", "read", "--local", "greeting"], environment: storeEnv)
            #expect(value.status == 0 && value.stdout.contains("hello"), "\(value)")
        }
    }
}
