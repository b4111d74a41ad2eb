import Foundation
import NIOCore
import Testing

@testable import NATSClient

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// Key-value buckets in NATS's layout against a real `nats-server -js`: conditional writes, deletes,
    /// keys and watches.
    @Suite struct KeyValueTests {
        static func text(_ entry: KeyValueEntry?) -> String? { entry.map { String(buffer: $0.value) } }

        @Test func bucketLayoutAndConditionalWrites() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            _ = server
            #expect(try await js.keyValue("profiles") == nil)
            let kv = try await js.createKeyValue(KeyValueConfiguration(bucket: "profiles", history: 5))
            #expect(kv.allowDirect)
            let stream = try #require(try await js.streamInfo("KV_profiles")).configuration
            #expect(stream.subjects == ["$KV.profiles.>"])
            #expect(stream.maxMessagesPerSubject == 5)
            #expect(stream.allowRollupHeaders && stream.denyDelete && stream.allowDirect)
            #expect(stream.discard == .new)
            #expect(try await js.keyValue("profiles")?.bucket == "profiles")
            #expect(try await js.keyValueBuckets() == ["profiles"])

            let first = try await kv.create("alice", value: ByteBuffer(string: "v1"))
            do {
                try await kv.create("alice", value: ByteBuffer(string: "again"))
                Issue.record("a second create succeeded")
            } catch let error as JetStreamError {
                #expect(error.code == .keyExists)
            }
            let second = try await kv.update("alice", value: ByteBuffer(string: "v2"), revision: first)
            #expect(second > first)
            do {
                try await kv.update("alice", value: ByteBuffer(string: "stale"), revision: first)
                Issue.record("an update with a stale revision succeeded")
            } catch let error as JetStreamError {
                #expect(error.isWrongLastSequence)
            }
            #expect(Self.text(try await kv.get("alice")) == "v2")
            #expect(try await kv.get("alice")?.revision == second)
            #expect(Self.text(try await kv.get("alice", revision: first)) == "v1", "history keeps the first value")
            #expect(try await kv.get("nobody") == nil)

            let marker = try await kv.delete("alice")
            #expect(try await kv.get("alice") == nil, "a deleted key has no value")
            let last = try #require(try await kv.entry("alice"))
            #expect(last.operation == .delete)
            #expect(last.revision == marker)
            await #expect(throws: JetStreamError.self) { try await kv.update("alice", value: ByteBuffer(string: "x"), revision: second) }
            let recreated = try await kv.create("alice", value: ByteBuffer(string: "v3"))
            #expect(recreated > marker, "create over a delete marker works")
            #expect(Self.text(try await kv.get("alice")) == "v3")
            do {
                try await kv.delete("alice", revision: marker)
                Issue.record("a delete with a stale revision succeeded")
            } catch let error as JetStreamError {
                #expect(error.isWrongLastSequence)
            }

            try await kv.put("bob", value: ByteBuffer(string: "b1"))
            try await kv.put("bob", value: ByteBuffer(string: "b2"))
            try await kv.put("team.a/b_c-d=e", value: ByteBuffer(string: "dotted"))
            #expect(Set(try await kv.keys()) == ["alice", "bob", "team.a/b_c-d=e"])
            try await kv.purge("bob")
            #expect(try await kv.entry("bob")?.operation == .purge)
            #expect(try await kv.get("bob", revision: 1) == nil)
            #expect(Set(try await kv.keys()) == ["alice", "team.a/b_c-d=e"])
            let info = try #require(try await js.streamInfo("KV_profiles"))
            #expect(info.state.messages >= 1)

            for key in ["", ".a", "a.", "a..b", "a b", "a*", "ü", "a>"] {
                await #expect(throws: JetStreamError.self, "\(key.debugDescription)") { try await kv.put(key, value: ByteBuffer()) }
            }
            for bucket in ["", "a.b", "a b", "a*"] {
                await #expect(throws: JetStreamError.self) { try await js.createKeyValue(KeyValueConfiguration(bucket: bucket)) }
            }
            await #expect(throws: JetStreamError.self) { try await js.createKeyValue(KeyValueConfiguration(bucket: "big", history: 65)) }
            #expect(try await js.deleteKeyValue("profiles"))
            #expect(try await js.keyValue("profiles") == nil)
            await connection.close()
        }

        @Test func watchDeliversInitialValuesThenChanges() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            _ = server
            let kv = try await js.createKeyValue(KeyValueConfiguration(bucket: "config"))
            try await kv.put("a", value: ByteBuffer(string: "1"))
            try await kv.put("b", value: ByteBuffer(string: "2"))
            try await kv.put("a", value: ByteBuffer(string: "3"))
            try await kv.put("other.x", value: ByteBuffer(string: "skip"))

            let watcher = try await kv.watch("*", options: KeyValueWatchOptions(idleHeartbeat: .milliseconds(500)))
            var events = watcher.makeAsyncIterator()
            var initial: [String: String] = [:]
            while let event = try await events.next() {
                guard let entry = event.entry else { break }
                initial[entry.key] = String(buffer: entry.value)
            }
            #expect(initial == ["a": "3", "b": "2"], "the last value of each matching key, then the end of the initial values")
            let put = try await kv.put("c", value: ByteBuffer(string: "4"))
            let change = try #require(try await events.next()?.entry)
            #expect(change.key == "c")
            #expect(String(buffer: change.value) == "4")
            #expect(change.revision == put)
            #expect(change.operation == .put)
            try await kv.put("other.y", value: ByteBuffer(string: "not matched"))
            let deleted = try await kv.delete("b")
            let marker = try #require(try await events.next()?.entry)
            #expect(marker.key == "b")
            #expect(marker.operation == .delete)
            #expect(marker.revision == deleted)
            await watcher.stop()
            #expect(try await events.next() == nil)

            // An empty selection: the initial values end at once; updates only: no initial values.
            let empty = try await kv.watch("nothing.*")
            var emptyEvents = empty.makeAsyncIterator()
            let first = try await emptyEvents.next()
            #expect(first.map { if case .initialValuesDone = $0 { true } else { false } } == true)
            await empty.stop()
            let updates = try await kv.watch(options: KeyValueWatchOptions(updatesOnly: true))
            var updateEvents = updates.makeAsyncIterator()
            #expect(try await updateEvents.next()?.entry == nil)
            try await kv.put("fresh", value: ByteBuffer(string: "5"))
            #expect(try await updateEvents.next()?.entry?.key == "fresh")
            await updates.stop()
            await connection.close()
        }

        @Test func watchSurvivesAServerRestart() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            let kv = try await js.createKeyValue(KeyValueConfiguration(bucket: "durable"))
            try await kv.put("k", value: ByteBuffer(string: "before"))
            let watcher = try await kv.watch(options: KeyValueWatchOptions(idleHeartbeat: .milliseconds(200)))
            var events = watcher.makeAsyncIterator()
            #expect(try await events.next()?.entry?.key == "k")
            #expect(try await events.next()?.entry == nil)
            server.stop()
            try await server.start()
            try await Kit.eventually("reconnected", within: .seconds(10)) { connection.status == .connected }
            // The bucket is on disk: a write after the restart reaches the watch through a new consumer.
            var written = false
            for _ in 0..<50 where !written {
                do { try await kv.put("k", value: ByteBuffer(string: "after")); written = true } catch { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(written)
            // A hang bound: the watch is stopped (ending the loop) if the write never arrives.
            let bound = Task { try await Task.sleep(for: .seconds(20)); await watcher.stop() }
            var next: KeyValueEntry?
            while let event = try await events.next() {
                if let entry = event.entry, String(buffer: entry.value) == "after" { next = entry; break }
            }
            bound.cancel()
            #expect(next?.key == "k", "the watch delivered the write made after the restart")
            #expect(watcher.consumer.resets >= 1)
            await watcher.stop()
            await connection.close()
        }
    }
}
