@testable import EtcdClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MicroCore
@testable import MicroEtcd
import MicroTestSupport
import Testing

/// ``EtcdStore`` beyond the conformance suite, on a real single-node etcd: the layout etcdctl sees,
/// leases, paging with filters, what is not a record, and etcd going away mid-operation.
@Suite(.serialized) struct EtcdStoreTests {
    /// A write that failed while etcd was down: how, and after how long.
    struct Failure: Sendable {
        var error: String
        var elapsed: Duration
        var typed: Bool
    }

    static func store(_ etcd: EtcdProcess, pageSize: Int = 128, operationTimeout: Duration? = nil) throws -> EtcdStore {
        var c = try EtcdTest.configuration(etcd.endpoints)
        if let operationTimeout {
            c.operationTimeout = operationTimeout
            c.requestTimeout = .seconds(1)
            c.retryRequestTimeout = .seconds(1)
        }
        return try EtcdStore(etcd: c, configuration: EtcdStoreConfiguration(pageSize: pageSize), logger: EtcdTest.logger("test.store.etcd"))
    }

    /// Runs `body`, which must fail with a ``StoreError`` of `code`; returns the error.
    @discardableResult
    static func expectStoreError<T>(_ code: StoreError.Code, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                                    _ body: () async throws -> T) async -> StoreError? {
        do {
            let result = try await body()
            Issue.record("\(what): expected \(code), succeeded with \(result)", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("\(what): expected StoreError \(code), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func databasesAndTablesSkipScanPastEachNameAndHandWrittenKeys() async throws {
        let etcd = try await EtcdProcess()
        let store = try Self.store(etcd)
        defer { etcd.stop() }
        for (database, table) in [("a", "t"), ("a", "u"), ("a-b", "t"), ("a0", "x")] {
            for key in ["k1", "k2", "k3"] { try await store.scoped(database: database, table: table).write(key, bytes: [1]) }
        }
        // Hand-written keys under the prefix: one without a '/', one whose name no scope can have.
        _ = try await store.client.put("/micro/store/loose", value: [1])
        _ = try await store.client.put("/micro/store/Bad Name/t/k", value: [1])
        _ = try await store.client.put("/micro/store/a/loose", value: [1])
        #expect(try await store.databases() == ["a", "a-b", "a0"])
        #expect(try await store.scoped(database: "a", table: "t").tables() == ["t", "u"])
        #expect(try await store.scoped(database: "a-b", table: "t").tables() == ["t"])
        #expect(try await store.scoped(database: "none", table: "t").tables() == [])
    }

    @Test func recordsAreKeysUnderTheScopePrefixWithLeasesForTTLs() async throws {
        let etcd = try await EtcdProcess()
        let store = try Self.store(etcd)
        let users = try store.scoped(database: "app", table: "Users")
        let revision = try await users.write("alice/profile", bytes: Array("hi".utf8), metadata: ["kind": "text"])
        try await store.write("plain", bytes: [1])
        let keys = try etcd.ctl(["get", "--prefix", "/micro/store/", "--keys-only"]).split(separator: "\n").map(String.init)
        #expect(keys == ["/micro/store/app/users/alice/profile", "/micro/store/micro/micro/plain"], "\(keys)")
        #expect(try store.etcdKey("plain") == "/micro/store/micro/micro/plain")

        let raw = try #require(try await store.client.get("/micro/store/app/users/alice/profile"))
        #expect(raw.modRevision == Int64(revision), "the record's revision is etcd's mod_revision")
        #expect(raw.lease == 0, "no TTL, no lease")
        #expect(raw.value.starts(with: EtcdStoreValue.magic) && Array(raw.value.suffix(2)) == Array("hi".utf8), "\(raw.value)")

        // TTL writes share a lease per rounded TTL (revoking it by hand only makes the next write take another).
        try await store.write("short", bytes: [1], ttl: .seconds(30))
        try await store.write("other", bytes: [1], ttl: .milliseconds(29_500))
        let lease = try #require(try await store.client.get("/micro/store/micro/micro/short")).lease
        #expect(lease != 0)
        #expect(try await store.client.get("/micro/store/micro/micro/other")?.lease == lease, "the same rounded TTL shares the lease")
        #expect(try await store.client.leaseTimeToLive(lease) ?? 0 > 30, "the lease outlives the record")
        try await store.write("long", bytes: [1], ttl: .seconds(300))
        #expect(try await store.client.get("/micro/store/micro/micro/long")?.lease ?? lease != lease, "another TTL, another lease")
        try await store.write("short", bytes: [3])
        #expect(try await store.client.get("/micro/store/micro/micro/short")?.lease == 0, "rewritten without TTL: no lease")
        try await store.client.revokeLease(lease)
        #expect(try await store.read("other") == nil, "revoking the lease removed the record")
        try await store.write("again", bytes: [1], ttl: .seconds(30))
        let renewed = try #require(try await store.client.get("/micro/store/micro/micro/again")).lease
        #expect(renewed != 0 && renewed != lease, "a lease etcd lost is replaced")
        #expect(EtcdStoreLeases.seconds(for: .milliseconds(200)) == 3 && EtcdStoreLeases.seconds(for: .seconds(800)) == 900)

        // etcd removes an expired record itself once its lease runs out; reads stopped returning it before.
        try await store.write("gone", bytes: [1], ttl: .milliseconds(200))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await store.read("gone") == nil, "expired: filtered by the stored expiry")
        #expect(await EtcdTest.eventually(.seconds(8)) { (try? await store.client.get("/micro/store/micro/micro/gone")) == .some(nil) },
                "etcd deleted the key when its lease ran out")
        await store.shutdown()
        await Self.expectStoreError(.unavailable, "a read after shutdown") { try await users.read("alice/profile") }
        etcd.stop()
    }

    @Test func smallPagesWithSuffixesExpiredRecordsOffsetsAndLimits() async throws {
        let etcd = try await EtcdProcess()
        let store = try Self.store(etcd, pageSize: 3)
        var live: [String] = []
        for i in 0..<40 {
            let key = String(format: "k%02d", i) + (i % 3 == 0 ? ".json" : ".txt")
            if i % 4 == 1 {
                try await store.write(key, bytes: [UInt8(i)], ttl: .milliseconds(150))
            } else {
                try await store.write(key, bytes: [UInt8(i)])
                live.append(key)
            }
        }
        try await store.write("other", bytes: [0])
        try await store.scoped(table: "micro-b").write("k99.json", bytes: [0])  // a neighbouring prefix
        try await Task.sleep(for: .milliseconds(250))
        let json = live.filter { $0.hasSuffix(".json") }
        #expect(try await store.list(prefix: "k") == live)
        #expect(try await store.list(prefix: "k", suffix: ".json") == json)
        #expect(try await store.list(suffix: ".json", limit: 4, offset: 2) == Array(json[2..<6]))
        #expect(try await store.read(prefix: "k", limit: 5, offset: 7).map(\.key) == Array(live[7..<12]))
        #expect(try await store.list(prefix: "k", offset: live.count - 1) == [live.last!])
        #expect(try await store.list(prefix: "k", offset: live.count).isEmpty)
        #expect(try await store.list(limit: 0).isEmpty)
        await store.shutdown()
        etcd.stop()
    }

    @Test func whatIsNotARecordIsMalformedAndCanBeRepairedOrDeleted() async throws {
        let etcd = try await EtcdProcess()
        let store = try Self.store(etcd)
        try await store.write("good/1", bytes: [1])
        try await store.write("good/2", bytes: [2])
        let magic = EtcdStoreValue.magic
        let garbage: [[UInt8]] = [
            [], Array("not a record".utf8), Array(magic.prefix(3)) + [9, 0, 0, 0, 0, 0],  // no envelope, another version
            magic + [2, 0, 0, 0, 0], magic + [1, 0, 0], magic + [0, 0xff, 0xff, 0xff, 0xff, 1],  // flags, truncated expiry, metadata overrun
            magic + [0, 0, 0, 0, 4] + Array("[1] ".utf8), magic + [0, 0, 0, 0, 7] + Array("{\"a\":1}".utf8),  // metadata not an object of strings
        ]
        for bytes in garbage {
            try await store.client.put(try store.etcdKey("bad"), value: bytes)
            await Self.expectStoreError(.malformed, "read of \(bytes)") { try await store.read("bad") }
            await Self.expectStoreError(.malformed, "a prefix read over \(bytes)") { try await store.read(prefix: "b") }
            await Self.expectStoreError(.malformed, "ifRevision over \(bytes)") { try await store.write("bad", bytes: [1], condition: .ifRevision(1)) }
        }
        // The rest of the table still reads; a suffix that does not match the bad key never decodes it.
        #expect(try await store.read(prefix: "good/").map(\.value) == [[1], [2]])
        #expect(try await store.list(suffix: "/2") == ["good/2"])
        await Self.expectStoreError(.malformed, "a list of the whole table") { try await store.list() }
        // A plain write replaces it; a delete removes it.
        try await store.write("bad", bytes: [7])
        #expect(try await store.read("bad")?.value == [7])
        try await store.client.put(try store.etcdKey("bad"), value: Array("junk".utf8))
        #expect(try await store.delete("bad"), "deleting what was not a record answers true")
        #expect(try await store.list() == ["good/1", "good/2"])

        // A key under the prefix that is not UTF-8 is malformed too, for reads and lists that reach it.
        let badKey = Array(try store.etcdKey("z").utf8) + [0xff, 0xfe]
        _ = try await store.client.txn(EtcdTxn(success: [.put(key: badKey, value: EtcdStoreValue(value: [1], metadata: [:], expiry: nil).encoded(), lease: 0)]))
        await Self.expectStoreError(.malformed, "a list reaching a key that is not UTF-8") { try await store.list() }
        #expect(try await store.list(prefix: "good/") == ["good/1", "good/2"])
        await store.shutdown()
        etcd.stop()
    }

    /// Runs every kind of store operation at once while etcd cannot answer: each must fail with
    /// `unavailable`, within the operation timeout (3 s) plus a margin.
    static func expectEveryOperationUnavailable(_ store: EtcdStore, _ phase: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let operations: [(String, @Sendable () async throws -> Void)] = [
            ("read", { _ = try await store.read("before") }),
            ("prefix read", { _ = try await store.read(prefix: "w") }),
            ("list", { _ = try await store.list() }),
            ("write", { try await store.write("down", bytes: [1]) }),
            ("write with TTL", { try await store.write("down-ttl", bytes: [1], ttl: .seconds(5)) }),
            ("ifAbsent write", { try await store.write("down-new", bytes: [1], condition: .ifAbsent) }),
            // Not of "before": a request a frozen etcd queued runs when it thaws, though the caller was told `unavailable`.
            ("delete", { _ = try await store.delete("down") }),
            ("delete ifRevision", { _ = try await store.delete("down", ifRevision: 1) }),
        ]
        await withTaskGroup(of: Void.self) { group in
            for (what, operation) in operations {
                group.addTask {
                    let start = ContinuousClock.now
                    await Self.expectStoreError(.unavailable, "\(what) while etcd is \(phase)", sourceLocation: sourceLocation) { try await operation() }
                    let elapsed = ContinuousClock.now - start
                    #expect(elapsed < .seconds(5), "\(what) while etcd is \(phase) gave up after \(elapsed)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    @Test func etcdStoppedMidOperationIsUnavailableWithinTheTimeoutAndWorksAgainAfterARestart() async throws {
        let etcd = try await EtcdProcess()
        let store = try Self.store(etcd, operationTimeout: .seconds(3))
        try await store.write("before", bytes: [1])
        // Writers keep writing while etcd freezes, thaws, is killed and restarts: every failure is a
        // typed `unavailable`, in time, and every acknowledged write is there at the end.
        let acknowledged = Box<[String]>([])
        let failures = Box<[Failure]>([])
        let writers = (0..<4).map { w in
            Task {
                var i = 0
                while !Task.isCancelled {
                    let key = "w\(w)/\(i)"
                    let start = ContinuousClock.now
                    do {
                        try await store.write(key, bytes: Array(key.utf8), ttl: i % 2 == 0 ? nil : .seconds(600),
                                              condition: i % 3 == 0 ? .ifAbsent : .always)
                        acknowledged.withLock { $0.append(key) }
                    } catch {
                        if Task.isCancelled { break }
                        let elapsed = ContinuousClock.now - start
                        let typed = (error as? StoreError)?.code == .unavailable
                        failures.withLock { $0.append(Failure(error: "\(error)", elapsed: elapsed, typed: typed)) }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    i += 1
                }
            }
        }
        func writersGoOn(_ what: Comment) async {
            let settled = acknowledged.get.count
            #expect(await EtcdTest.eventually(.seconds(15)) { acknowledged.get.count >= settled + 20 }, what)
        }
        await writersGoOn("the writers started")

        // Frozen (SIGSTOP): connections stay open and nothing answers, so the timeouts decide.
        let pid = try #require(etcd.pid())
        Glibc.kill(pid, SIGSTOP)
        let frozenFailures = failures.get.count
        #expect(await EtcdTest.eventually(.seconds(10)) { failures.get.count >= frozenFailures + 4 }, "writers fail while etcd is frozen")
        await Self.expectEveryOperationUnavailable(store, "frozen")
        Glibc.kill(pid, SIGCONT)
        await writersGoOn("the writers went on after etcd thawed")

        // Killed (SIGKILL): connections are refused until it restarts on the same port and data.
        etcd.kill()
        let killedFailures = failures.get.count
        #expect(await EtcdTest.eventually(.seconds(10)) { failures.get.count >= killedFailures + 4 }, "writers fail while etcd is down")
        await Self.expectEveryOperationUnavailable(store, "down")
        try await etcd.restart()
        #expect(await EtcdTest.eventually(.seconds(15)) { (try? await store.write("after", bytes: [2])) != nil }, "writes work again")
        await writersGoOn("the writers went on after etcd restarted")
        for writer in writers { writer.cancel() }
        for writer in writers { await writer.value }

        let failed = failures.get
        #expect(failed.allSatisfy { $0.typed }, "\(failed.filter { !$0.typed }.map(\.error))")
        #expect(failed.allSatisfy { $0.elapsed < .seconds(5) }, "\(failed.map(\.elapsed))")
        // Every acknowledged write is there (etcd syncs its log before answering).
        let stored = Set(try await store.list(prefix: "w"))
        let missing = acknowledged.get.filter { !stored.contains($0) }
        #expect(missing.isEmpty, "acknowledged but missing: \(missing)")
        #expect(try await store.read("before")?.value == [1])
        #expect(try await store.read("after")?.value == [2])
        await store.shutdown()
        etcd.stop()
    }

    @Test func microStoreEtcdSelectsTheEtcdStore() async throws {
        let etcd = try await EtcdProcess()
        let environment = MicroEnvironment(["MICRO_STORE": "etcd", "MICRO_STORE_ADDRESS": etcd.addressList])
        let store = try Engines([.etcd]).makeStore(EngineContext(environment: environment))
        #expect(store.name == "etcd" && store is EtcdStore)
        let revision = try await store.write("configured", bytes: [1])
        #expect(try await store.read("configured")?.revision == revision)
        #expect(try etcd.ctl(["get", "/micro/store/micro/micro/configured", "--keys-only"]).contains("configured"))
        await store.shutdown()
        etcd.stop()
    }
}

/// ``EtcdStoreValue`` on its own: every record round-trips, and no bytes crash the decoder.
@Suite struct EtcdStoreValueTests {
    @Test func roundTripsAndRejectsEveryTruncation() throws {
        let samples = [
            EtcdStoreValue(value: [], metadata: [:], expiry: nil),
            EtcdStoreValue(value: Array(0...255), metadata: ["a": "b", "quote\"": "line\nbreak", "ü": "日本"], expiry: 1_700_000_000_123),
            EtcdStoreValue(value: [0], metadata: [:], expiry: -1),
            EtcdStoreValue(value: Array("x".utf8), metadata: ["": ""], expiry: Int64.max),
        ]
        for sample in samples {
            let bytes = sample.encoded()
            #expect(try EtcdStoreValue.decode(bytes, key: "k") == sample)
            // Cut anywhere inside the header or metadata: malformed, never a crash.
            let headerAndMetadata = bytes.count - sample.value.count
            for cut in 0..<headerAndMetadata {
                #expect(throws: StoreError.self) { try EtcdStoreValue.decode(Array(bytes.prefix(cut)), key: "k") }
            }
        }
    }

    @Test func randomBytesDecodeOrFailTyped() {
        var generator = SeededGenerator(seed: 16)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0..<40, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) { bytes = EtcdStoreValue.magic + bytes }
            do {
                _ = try EtcdStoreValue.decode(bytes, key: "k")
            } catch let error as StoreError {
                #expect(error.code == .malformed)
            } catch {
                Issue.record("\(error)")
            }
        }
    }
}
