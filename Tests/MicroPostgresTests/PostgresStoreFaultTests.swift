import Foundation
import MicroCore
import MicroPostgres
import MicroTestSupport
import Synchronization
import Testing

/// The server going away and coming back, each test on a server of its own.
@Suite(.serialized) struct PostgresStoreFaultTests {
    @Test func theServerGoingAwayIsUnavailableThenTheSameStoreWorksAgain() async throws {
        let server = try await PostgresProcess()
        let store = try PostgresStore(url: server.url, operationTimeout: .seconds(2))
        let before = try await store.write("k", bytes: [1])

        // A write waiting on a row another session holds locked, when the server stops under it.
        let holder = try await lockRow("k", of: store, on: server)
        defer { holder.kill() }
        // A server that does not answer (the row stays locked): the write gives up at the 2 s bound,
        // saying its outcome is unknown (its statement may still run once the lock is released).
        let waited = ContinuousClock.now
        await #expect { try await store.write("k", bytes: [9]) } throws: { error in
            let e = error as? StoreError
            return e?.code == .unavailable && e?.detail.contains("no answer within") == true && e?.detail.contains("may or may not") == true
        }
        #expect(ContinuousClock.now - waited < .seconds(5), "bounded by the 2 s operation timeout")

        let blocked = Task { () -> (any Error)? in
            do { _ = try await store.write("k", bytes: [2]); return nil } catch { return error }
        }
        try await Task.sleep(for: .milliseconds(300))
        let stopped = ContinuousClock.now
        server.stop()
        let error = await blocked.value
        #expect((error as? StoreError)?.code == .unavailable, "the blocked write: \(String(describing: error))")
        #expect(ContinuousClock.now - stopped < .seconds(3), "it failed when its connection went, not later")
        #expect("\(String(describing: error))".contains("may or may not have been applied"))

        // While the server is down every operation fails typed, each within the 2 s bound.
        let names = ["read", "write", "list", "delete"]
        let ops: [@Sendable () async throws -> Void] = [
            { _ = try await store.read("k") }, { try await store.write("k", bytes: [3]) },
            { _ = try await store.list() }, { _ = try await store.delete("k") },
        ]
        for (name, op) in zip(names, ops) {
            let started = ContinuousClock.now
            await #expect("\(name)") { try await op() } throws: { ($0 as? StoreError)?.code == .unavailable }
            #expect(ContinuousClock.now - started < .seconds(4), "\(name) bounded")
        }

        // Back: the same store (its pool redials) sees the record as the last acknowledged write left it.
        try await server.start()
        holder.kill()
        var record: StoreRecord?
        try await waitUntil("the store works again", timeout: .seconds(30)) {
            do { record = try await store.read("k"); return true } catch { return false }
        }
        // The holder never committed. The two writes that were waiting for its lock were reported as
        // of unknown outcome: when the shutdown ends the holder first, one may commit before it is ended.
        // Whatever is there is one whole write, never the holder's.
        let found = try #require(record)
        #expect([[1], [2], [9]].contains(found.value), "\(found.value)")
        #expect(found.value == [1] ? found.revision == before : found.revision > before)
        let after = try await store.write("k", bytes: [4])
        #expect(after > before)
        #expect(try await store.read("k")?.value == [4])
        await store.shutdown()
        server.stop()
    }

    @Test func callersBeyondThePoolWaitInTurnAndAWaitingCallerCanBeCancelled() async throws {
        let server = try await PostgresProcess()
        let configuration = PostgresStoreConfiguration(port: server.port, operationTimeout: .seconds(5), maximumConnections: 1)
        let store = try PostgresStore(configuration: configuration)
        try await store.write("k", bytes: [1])
        try await store.write("other", bytes: [7])

        // The only connection is held by a write waiting on a row another session holds locked.
        let holder = try await lockRow("k", of: store, on: server)
        defer { holder.kill() }
        let blocked = Task { try await store.write("k", bytes: [2]) }
        try await Task.sleep(for: .milliseconds(300))

        // A read waiting for the connection ends as soon as its caller gives up.
        let waiting = Task { try await store.read("other") }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        waiting.cancel()
        let outcome = await waiting.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(ContinuousClock.now - cancelled < .seconds(1), "the waiter left at once")

        // Readers beyond the pool queue for the one connection and are each served once it is free.
        let readers = Task {
            try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                for _ in 0..<8 { group.addTask { try await store.read("other")?.value } }
                return try await group.reduce(into: [[UInt8]?]()) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        // Ending psql alone would leave its backend asleep holding the lock: end the backend.
        _ = try await server.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'psql' AND pid <> pg_backend_pid()")
        #expect(try await blocked.value > 0, "the held write went through once the lock went")
        #expect(try await readers.value == Array(repeating: [7], count: 8))
        #expect(try await store.read("k")?.value == [2])
        await store.shutdown()
        server.stop()
    }

    @Test func aServerRestartedUnderLoadLosesNoAcknowledgedWrite() async throws {
        let server = try await PostgresProcess()
        let store = try PostgresStore(url: server.url, operationTimeout: .seconds(3))
        try await store.write("warm", bytes: [0])
        let writers = 8, attempts = 150, keysPerWriter = 10
        let log = LoadLog()
        let deadline = ContinuousClock.now + .seconds(120)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for i in 0..<attempts where ContinuousClock.now < deadline {
                        let key = "w\(w)/k\(i % keysPerWriter)"
                        let value = Array("\(w)-\(i)".utf8)
                        let wasRestarted = log.restarted.load(ordering: .acquiring)
                        do {
                            let revision = try await store.write(key, bytes: value)
                            log.acknowledged.withLock { $0.append(LoadLog.Ack(key: key, value: value, revision: revision, afterRestart: wasRestarted)) }
                        } catch let error as StoreError where error.code == .unavailable {
                            log.failures.add(1, ordering: .relaxed)
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                }
            }
            group.addTask {
                // Mid-way: once a quarter of the writes are acknowledged, an immediate shutdown (as after
                // a crash: no checkpoint, the log is replayed) and a start on the same data.
                while log.acknowledged.withLock({ $0.count }) < writers * attempts / 4 { try await Task.sleep(for: .milliseconds(5)) }
                server.crash()
                try await Task.sleep(for: .milliseconds(300))
                try await server.start()
                log.restarted.store(true, ordering: .releasing)
            }
            try await group.waitForAll()
        }

        let acks = log.acknowledged.withLock { $0 }
        let restarted = log.restarted.load(ordering: .acquiring), failures = log.failures.load(ordering: .relaxed)
        #expect(restarted)
        #expect(acks.contains { !$0.afterRestart } && acks.contains { $0.afterRestart },
                "writes acknowledged before and after the restart (\(acks.count) in all, \(failures) unavailable)")
        var latest: [String: LoadLog.Ack] = [:]
        for ack in acks where ack.revision > (latest[ack.key]?.revision ?? 0) { latest[ack.key] = ack }
        #expect(Set(acks.map(\.revision)).count == acks.count, "no revision acknowledged twice")
        var lost: [String] = []
        for (key, ack) in latest {
            let record = try await store.read(key)
            guard let record, record.revision >= ack.revision else {
                lost.append("\(key): acknowledged revision \(ack.revision), found \(String(describing: record?.revision))")
                continue
            }
            if record.revision == ack.revision, record.value != ack.value { lost.append("\(key): revision \(ack.revision) holds another value") }
        }
        #expect(lost.isEmpty, "acknowledged writes lost: \(lost.prefix(10))")
        #expect(latest.count == writers * keysPerWriter, "every key acknowledged at least once")
        await store.shutdown()
        server.stop()
    }

    /// What the writers of the restart test saw.
    private final class LoadLog: Sendable {
        /// A write that returned a revision.
        struct Ack: Sendable {
            let key: String
            let value: [UInt8]
            let revision: UInt64
            let afterRestart: Bool
        }

        let acknowledged = Mutex<[Ack]>([])
        let failures = Atomic<Int>(0)
        let restarted = Atomic<Bool>(false)
    }

    /// A psql session holding `key`'s row of `store`'s table locked (an uncommitted update, then a
    /// minute's sleep), once the lock is taken.
    private func lockRow(_ key: String, of store: PostgresStore, on server: PostgresProcess) async throws -> SpawnedProcess {
        let holder = try SpawnedProcess(try PostgresProcess.binDirectory() + "/psql", [
            "-h", "127.0.0.1", "-p", "\(server.port)", "-U", "postgres", "-d", "postgres", "-X", "-q", "-c",
            "BEGIN; UPDATE \(store.tableName) SET value = '\\xFF' WHERE key = '\(key)'; SELECT pg_sleep(60); COMMIT;",
        ])
        do {
            try await waitUntil("the holder has the row locked") {
                (try? await server.psql("SELECT count(*) FROM pg_locks WHERE relation = '\(store.tableName)'::regclass AND mode = 'RowExclusiveLock'")) == "1"
            }
        } catch {
            holder.kill()
            throw error
        }
        return holder
    }

    /// Polls `condition` every 100 ms until it holds; throws after `timeout`.
    private func waitUntil(_ what: String, timeout: Duration = .seconds(15), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StoreError(.unavailable, "timed out waiting until \(what)")
    }
}
