import Foundation
import MicroCore
import NIOCore
import Testing

@testable import MicroNATS
@testable import NATSClient

private typealias K = NATSTestKit

extension NATSSuite {
    /// ``NATSStore`` beyond the conformance suite: its layout as other NATS clients see it (nats-py),
    /// a server stopped and restarted, records it did not write, and `MICRO_STORE=nats`.
    @Suite struct NATSStoreTests {
        static func store(_ server: NATSServerProcess, timeout: Duration = .seconds(5), scope: StoreScope = .default) -> NATSStore {
            var options = NATSOptions(servers: [server.url])
            options.reconnectWait = .milliseconds(20)
            options.reconnectWaitMax = .milliseconds(200)
            return NATSStore(options: options, configuration: NATSStoreConfiguration(timeout: timeout), scope: scope, logger: K.logger)
        }

        @Test func pythonReadsAndWritesTheSameBucket() async throws {
            let python = try testPython()
            let server = try await NATSServerProcess(jetStream: true)
            let scope = try StoreScope(database: "shop", table: "users")
            let store = Self.store(server, scope: scope)
            #expect(store.bucketName == "micro_shop_T_users")
            let user = try await store.write("user/1", bytes: Array(#"{"name":"Ada"}"#.utf8), metadata: ["kind": "user", "ü": "日本"])
            let dotted = try await store.write("a b.c", bytes: Array("spaced".utf8))
            try await store.write("ttl", bytes: Array("soon".utf8), ttl: .seconds(600))
            #expect(try store.bucketKey("a b.c") == "a=20b=2Ec")

            let read = try await K.run(python, [K.script("kv_peer.py"), "read", server.url, store.bucketName, "user/1", "a=20b=2Ec", "ttl"])
            #expect(read.status == 0, "python: \(read.stderr)")
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: Any])
            #expect(seen["keys"] as? [String] == ["a=20b=2Ec", "ttl", "user/1"])
            let userSeen = try #require(seen["user/1"] as? [String: Any])
            #expect(userSeen["value"] as? String == #"{"name":"Ada"}"#)
            #expect((userSeen["revision"] as? NSNumber)?.uint64Value == user)
            #expect((userSeen["seq"] as? NSNumber)?.uint64Value == user)
            let headers = try #require(userSeen["headers"] as? [String: String])
            #expect(headers["Micro-Store"] == "1")
            #expect(headers["Micro-Metadata"] == #"{"kind":"user","ü":"日本"}"#)
            #expect(headers["Micro-Expires"] == nil)
            let dottedSeen = try #require(seen["a=20b=2Ec"] as? [String: Any])
            #expect(dottedSeen["value"] as? String == "spaced")
            #expect((dottedSeen["revision"] as? NSNumber)?.uint64Value == dotted)
            let ttlHeaders = try #require((seen["ttl"] as? [String: Any])?["headers"] as? [String: String])
            let expiry = try #require(try await store.read("ttl")?.expiry)
            #expect(ttlHeaders["Micro-Expires"] == String(StoreClock.milliseconds(expiry)))

            let write = try await K.run(python, [K.script("kv_peer.py"), "write", server.url, store.bucketName])
            #expect(write.status == 0, "python: \(write.stderr)")
            let wrote = try #require(try JSONSerialization.jsonObject(with: Data(write.stdout.utf8)) as? [String: Any])
            let plain = try #require(try await store.read("py-plain"))
            #expect(plain.value == Array("hello".utf8))
            #expect(plain.metadata == [:] && plain.expiry == nil, "a value without the store's headers is a plain record")
            #expect(plain.revision == (wrote["plain"] as? NSNumber)?.uint64Value)
            let counter = try #require(try await store.read("py-counter"))
            #expect(counter.value == Array("2".utf8))
            #expect(counter.revision == (wrote["updated"] as? NSNumber)?.uint64Value)
            #expect(try await store.read("a b.c") == nil, "deleted by nats-py")
            #expect(try await store.list() == ["py-counter", "py-plain", "ttl", "user/1"])
            try await store.write("py-counter", bytes: Array("3".utf8), condition: .ifRevision(counter.revision))
            #expect(try await store.databases().contains("shop"))
            #expect(try await store.tables() == ["users"])
            await store.shutdown()
        }

        @Test(arguments: [false, true])
        func serverStoppedIsUnavailableAndRestartedKeepsAcknowledgedWrites(killed: Bool) async throws {
            let server = try await NATSServerProcess(jetStream: true)
            let store = Self.store(server, timeout: .seconds(2))
            var acknowledged: [String: UInt64] = [:]
            for n in 0..<20 { acknowledged["w\(n)"] = try await store.write("w\(n)", bytes: [UInt8(n)]) }
            // A shutdown (SIGTERM), or a crash (SIGKILL) right after the last acknowledgement.
            if killed { server.kill() } else { server.stop() }
            let started = ContinuousClock.now
            do {
                _ = try await store.read("w1")
                Issue.record("a read succeeded with the server stopped")
            } catch let error as StoreError {
                #expect(error.code == .unavailable, "\(error)")
            }
            do {
                try await store.write("during", bytes: [1])
                Issue.record("a write succeeded with the server stopped")
            } catch let error as StoreError {
                #expect(error.code == .unavailable, "\(error)")
            }
            #expect(ContinuousClock.now - started < .seconds(30), "both failed within a bounded time")

            try await server.start()
            var back = false
            for _ in 0..<100 where !back {
                do { _ = try await store.read("w0"); back = true } catch { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(back, "the store works again once the server is back")
            for (key, revision) in acknowledged {
                let record = try await store.read(key)
                #expect(record?.revision == revision, "\(key) kept its acknowledged write")
            }
            #expect(try await store.list(prefix: "w").count == 20, "killed: \(killed)")
            let after = try await store.write("after", bytes: [2])
            #expect(after > acknowledged.values.max()!)
            await store.shutdown()

            // Nothing listening at all: unavailable within the connect timeout.
            let nobody = NATSStore(addresses: "nats://127.0.0.1:\(try freePort())", configuration: NATSStoreConfiguration(timeout: .seconds(1)))
            do {
                _ = try await nobody.read("k")
                Issue.record("a read succeeded without a server")
            } catch let error as StoreError {
                #expect(error.code == .unavailable)
            }
            await nobody.shutdown()
        }

        @Test func recordsTheStoreDidNotWriteAreMalformed() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            let store = Self.store(server)
            try await store.write("good", bytes: [1])
            let connection = try await K.connect(server)
            let js = JetStream(connection: connection)
            let subject = { (key: String) in "$KV.\(store.bucketName).\(key)" }
            let cases: [(String, NATSHeaders)] = [
                ("version", ["Micro-Store": "2"]),
                ("expiry", ["Micro-Store": "1", "Micro-Expires": "soon"]),
                ("negative", ["Micro-Expires": "-5"]),
                ("twice", ["Micro-Expires": "1", "micro-expires": "2"]),
                ("metadata", ["Micro-Metadata": "[1,2]"]),
                ("notjson", ["Micro-Metadata": "{\"a\":"]),
            ]
            for (key, headers) in cases {
                try await js.publish(subject(key), bytes: [9], headers: headers)
                do {
                    _ = try await store.read(key)
                    Issue.record("\(key): a malformed record was read")
                } catch let error as StoreError {
                    #expect(error.code == .malformed, "\(key): \(error)")
                }
                await #expect(throws: StoreError.self) { try await store.write(key, bytes: [1], condition: .ifAbsent) }
                #expect(try await store.delete(key), "\(key): a delete removes what is not a record")
                #expect(try await store.read(key) == nil)
            }
            // Keys the store's encoding does not make fail lists, and a delete of the key cannot reach them.
            try await js.publish(subject("a.b"), bytes: [1])
            await #expect(throws: StoreError.self) { try await store.list() }
            do {
                _ = try await store.read(prefix: "")
            } catch let error as StoreError {
                #expect(error.code == .malformed)
            }
            try await js.publish(subject("a.b"), bytes: [], headers: ["KV-Operation": "DEL"])
            #expect(try await store.list() == ["good"])
            for token in ["=2e", "=41", "=C3", "=", "=G0", "a.b", "=00"] {
                #expect(throws: StoreError.self, "\(token)") { try NATSStoreKeyCoding.decode(token) }
            }
            await connection.close()
            await store.shutdown()
        }

        @Test func aBucketDeletedFromOutsideReadsEmptyAndIsMadeAgain() async throws {
            let server = try await NATSServerProcess.sharedJetStream()
            let store = Self.store(server, scope: try StoreScope(database: "gone", table: "t\(UInt32.random(in: 0...UInt32.max))"))
            #expect(try await store.read("k") == nil, "no bucket yet: nothing, and no bucket made by a read")
            #expect(try await store.list() == [])
            #expect(try await store.delete("k") == false)
            let connection = try await K.connect(server)
            let js = JetStream(connection: connection)
            #expect(try await js.keyValue(store.bucketName) == nil)
            try await store.write("k", bytes: [1])
            #expect(try await js.keyValue(store.bucketName) != nil)
            #expect(try await js.deleteKeyValue(store.bucketName))
            #expect(try await store.read("k") == nil)
            #expect(try await store.list() == [])
            await #expect(throws: StoreError.self) { try await store.delete("k", ifRevision: 1) }
            let again = try await store.write("k", bytes: [2])
            #expect(try await store.read("k")?.revision == again)
            await connection.close()
            await store.shutdown()
        }

        @Test func keysAndBucketNamesMapOneToOne() throws {
            let keys = ["a", "A-b_c/d", " ", ".", "..", "=", "=41", "a.b", "*", ">", "é", "e\u{301}", "日本", "😀", "\u{1}", "\u{7F}",
                        String(repeating: "é", count: 512), "%2E", "a/b/c"]
            for key in keys {
                let token = NATSStoreKeyCoding.encode(key)
                #expect(throws: Never.self) { try KeyValue.validateKey(token) }
                #expect(try NATSStoreKeyCoding.decode(token).utf8.elementsEqual(key.utf8), "\(key.debugDescription)")
            }
            #expect(Set(keys.map(NATSStoreKeyCoding.encode)).count == keys.count)
            let scopes = [("a_b", "c"), ("a", "b_c"), ("a_t_b", "c"), ("a", "t_c"), ("x-y", "z"), ("micro", "micro")]
            var buckets: Set<String> = []
            for (database, table) in scopes {
                let scope = try StoreScope(database: database, table: table)
                let bucket = NATSStoreBucket.name(prefix: "micro", scope)
                #expect(throws: Never.self) { try KeyValue.validateBucket(bucket) }
                #expect(NATSStoreBucket.scope(bucket, prefix: "micro") == scope, "\(bucket)")
                buckets.insert(bucket)
            }
            #expect(buckets.count == scopes.count)
            for other in ["micro_a", "micro_aT_b", "micro_a_T", "other_a_T_b", "micro__T_b", "micro_A_T_b"] {
                #expect(NATSStoreBucket.scope(other, prefix: "micro") == nil, "\(other)")
            }
        }

        @Test func microStoreNatsSelectsTheNATSStore() async throws {
            let server = try await NATSServerProcess.sharedJetStream()
            let environment = MicroEnvironment(["MICRO_STORE": "nats", "MICRO_STORE_ADDRESS": server.url])
            let store = try Engines([.nats]).makeStore(EngineContext(environment: environment))
            #expect(store.name == "nats" && store is NATSStore)
            let scoped = store.scoped(try StoreScope(database: "env", table: "t\(UInt32.random(in: 0...UInt32.max))"))
            let revision = try await scoped.write("configured", bytes: [1])
            #expect(try await scoped.read("configured")?.revision == revision)
            await store.shutdown()
        }
    }
}
