import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// `micro events` as a user runs it, across processes on a real `nats-server -js`.
    @Suite struct EventsCLI {
        static func lines(_ text: String) -> [[String: Any]] {
            text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        @Test func publishConsumeAndReadThroughJetStream() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let nats = try await NATSServerProcess(jetStream: true)
            let env = ["MICRO_EVENTS": "nats", "MICRO_EVENTS_ADDRESS": nats.url, "MICRO_EVENT_STORE": "nats", "MICRO_EVENT_STORE_ADDRESS": nats.url]

            let first = try await h.run("micro", ["events", "publish", "orders.created", "{\"n\":1}", "--id", "a", "--metadata", "tenant=t1"],
                                        environment: env)
            #expect(first.status == 0, "\(first)")
            let receipt = Self.lines(first.stdout).first
            #expect(receipt?["id"] as? String == "a" && receipt?["duplicate"] as? Bool == false, "\(first)")
            let again = try await h.run("micro", ["events", "publish", "orders.created", "{\"n\":1}", "--id", "a"], environment: env)
            #expect(Self.lines(again.stdout).first?["duplicate"] as? Bool == true, "the same id again is a duplicate: \(again)")
            let file = h.home.appendingPathComponent("payload.json")
            try Data("{\"n\":2}".utf8).write(to: file)
            #expect(try await h.run("micro", ["events", "publish", "orders.created", "@\(file.path)", "--id", "b"], environment: env).status == 0)

            let consumed = try await h.run("micro", ["events", "consume", "orders.created", "--group", "billing", "--start", "beginning",
                                                     "--count", "2"], environment: env)
            #expect(consumed.status == 0, "\(consumed)")
            let events = Self.lines(consumed.stdout)
            #expect(events.map { $0["id"] as? String } == ["a", "b"], "\(consumed)")
            #expect(events.first?["payload"] as? String == "{\"n\":1}", "\(consumed)")
            #expect(events.first?["metadata"] as? [String: String] == ["tenant": "t1"], "\(consumed)")
            #expect(events.first?["deliveries"] as? Int == 1, "\(consumed)")

            // The group acknowledged both: another member gets nothing more.
            let rest = try await h.run("micro", ["events", "consume", "orders.created", "--group", "billing", "--duration", "1.5"], environment: env)
            #expect(rest.status == 0 && rest.stdout.isEmpty, "\(rest)")

            // The event store is empty for that topic; a bad topic is one line and exit 1.
            let read = try await h.run("micro", ["events", "read", "orders.created"], environment: env)
            #expect(read.status == 0 && read.stdout.isEmpty, "\(read)")
            let bad = try await h.run("micro", ["events", "publish", "bad topic", "x"], environment: env)
            #expect(bad.exited && bad.status == 1 && bad.stdout.isEmpty, "\(bad)")
            #expect(bad.stderr.contains("invalidTopic"), "\(bad)")
            let noServer = try await h.run("micro", ["events", "publish", "t", "x"],
                                           environment: ["MICRO_EVENTS": "nats", "MICRO_EVENTS_ADDRESS": "nats://127.0.0.1:\(try freePort())"])
            #expect(noServer.status == 1 && noServer.stderr.contains("unavailable"), "\(noServer)")
        }
    }
}
