@testable import EtcdClient
import Foundation
import MicroEtcd
import MicroTestSupport
import Testing

/// ``EtcdConnection`` on a real single-node etcd: keys, transactions, leases, watches, restarts.
@Suite(.serialized) struct EtcdClientTests {
    static func client(_ etcd: EtcdProcess, pageSize: Int = 1000) throws -> EtcdConnection {
        var c = try EtcdTest.configuration(etcd.endpoints)
        c.rangePageSize = pageSize
        return try EtcdConnection(configuration: c, logger: EtcdTest.logger("test.etcd"))
    }

    @Test func keysRangesPagesDeletesAndTransactions() async throws {
        let etcd = try await EtcdProcess()
        let client = try Self.client(etcd, pageSize: 3)
        let first = try await client.put("/t/a", value: "1")
        #expect(first.revision > 0)
        #expect(try await client.get("/t/a")?.valueString == "1")
        #expect(try await client.get("/t/missing") == nil)
        for i in 0..<10 { try await client.put("/t/p/\(i)", value: "v\(i)") }
        try await client.put("/t/q", value: "outside")
        let all = try await client.rangeAll(.prefix("/t/p/"))
        #expect(all.kvs.map(\.keyString) == (0..<10).map { "/t/p/\($0)" })
        let page = try await client.range(.prefix("/t/p/"), limit: 4)
        #expect(page.kvs.count == 4 && page.more && page.count == 10)
        let put = try await client.put("/t/a", value: Array("2".utf8), prevKV: true)
        #expect(put.previous?.valueString == "1")
        let deleted = try await client.delete(.prefix("/t/p/"), prevKV: true)
        #expect(deleted.deleted == 10 && deleted.previous.count == 10)
        #expect(try await client.rangeAll(.prefix("/t/p/")).kvs.isEmpty)
        // Compare-and-swap: create only if absent.
        let created = try await client.txn(EtcdTxn(compare: [.absent("/t/lock")], success: [.put("/t/lock", Array("me".utf8))],
                                                   failure: [.range(.key("/t/lock"))]))
        #expect(created.succeeded)
        let lost = try await client.txn(EtcdTxn(compare: [.absent("/t/lock")], success: [.put("/t/lock", Array("you".utf8))],
                                                failure: [.range(.key("/t/lock"))]))
        #expect(!lost.succeeded)
        guard case .range(let holder) = lost.results.first else {
            Issue.record("no range result")
            return
        }
        #expect(holder.kvs.first?.valueString == "me")
        // etcd's own rejection is a typed error, not a retry.
        await #expect(throws: EtcdError.self) { try await client.put("", value: "x") }
        await client.shutdown()
        etcd.stop()
    }

    @Test func leasesAreGrantedRefreshedKeptAliveOnOneStreamAndRevoked() async throws {
        let etcd = try await EtcdProcess()
        let client = try Self.client(etcd)
        let lease = try await client.grantLease(ttl: .seconds(1))
        #expect(lease.ttl >= 1)
        try await client.put("/l/k", value: "v", lease: lease.id)
        #expect(try await client.refreshLease(lease.id) >= 1)
        // Kept alive for three TTLs without anything else happening.
        try client.keepAlive(lease: lease.id, ttl: lease.ttl)
        var more: [EtcdLease] = []
        for _ in 0..<10 {
            let l = try await client.grantLease(ttl: .seconds(2))
            try client.keepAlive(lease: l.id, ttl: l.ttl)
            more.append(l)
        }
        try await Task.sleep(for: .seconds(3))
        #expect(try await client.get("/l/k")?.valueString == "v")
        #expect(try await client.leaseTimeToLive(lease.id) != nil)
        let stats = client.statistics
        #expect(stats.keepAliveStreamsOpened == 1 && stats.keepAliveStreamOpen && stats.keptLeases == 11, "\(stats)")
        // Stopped: it expires.
        client.stopKeepAlive(lease.id)
        #expect(await EtcdTest.eventually(.seconds(5)) { (try? await client.get("/l/k")) == .some(nil) })
        #expect(try await client.leaseTimeToLive(lease.id) == nil)
        let error = await #expect(throws: EtcdError.self) { try await client.refreshLease(lease.id) }
        #expect(error?.code == .leaseNotFound)
        // Revoked by someone else: the keeper hears it is lost at its next refresh.
        let lost = Box<[Int64]>([])
        let revoked = more[0]
        client.stopKeepAlive(revoked.id)
        try client.keepAlive(lease: revoked.id, ttl: revoked.ttl) { id in lost.withLock { $0.append(id) } }
        try etcd.ctl(["lease", "revoke", String(revoked.id, radix: 16)])
        #expect(await EtcdTest.eventually(.seconds(3)) { lost.get == [revoked.id] })
        #expect(client.statistics.keptLeases == 9)
        // Revoked here: gone at once; again is not an error.
        try await client.revokeLease(more[1].id)
        try await client.revokeLease(more[1].id)
        #expect(try await client.leaseTimeToLive(more[1].id) == nil)
        #expect(client.statistics.keptLeases == 8)
        #expect(client.statistics.keepAliveStreamsOpened == 1)
        await client.shutdown()
        etcd.stop()
    }

    @Test func watchesShareOneStreamReplayHistoryAndCancel() async throws {
        let etcd = try await EtcdProcess()
        let client = try Self.client(etcd)
        let start = try await client.put("/w/a/0", value: "before")
        let a = Box<[EtcdEvent]>([]), b = Box<[EtcdEvent]>([])
        let ta = Task { for try await batch in client.watch(.prefix("/w/a/"), fromRevision: start.revision, prevKV: true) { a.withLock { $0 += batch.events } } }
        let tb = Task { for try await batch in client.watch(.key("/w/b")) { b.withLock { $0 += batch.events } } }
        #expect(await EtcdTest.eventually { client.statistics.watches == 2 })
        #expect(await EtcdTest.eventually { a.get.count == 1 }, "history not replayed")
        try await Task.sleep(for: .milliseconds(200))
        try await client.put("/w/a/1", value: "x")
        try await client.put("/w/a/1", value: "y")
        try await client.put("/w/b", value: "z")
        try await client.put("/w/bb", value: "not watched")
        try await client.delete(.key("/w/a/1"))
        #expect(await EtcdTest.eventually { a.get.count == 4 && b.get.count == 1 }, "\(a.get.count) \(b.get.count)")
        #expect(a.get.map(\.kind) == [.put, .put, .put, .delete])
        #expect(a.get[1].isCreate && !a.get[2].isCreate && a.get[2].previous?.valueString == "x")
        #expect(b.get.map(\.kv.keyString) == ["/w/b"])
        #expect(client.statistics.watchStreamsOpened == 1)
        ta.cancel()
        tb.cancel()
        #expect(await EtcdTest.eventually { client.statistics.watches == 0 })
        await client.shutdown()
        etcd.stop()
    }

    @Test func watchesAndLeasesSurviveARestartOfTheOnlyMember() async throws {
        let etcd = try await EtcdProcess()
        let client = try Self.client(etcd)
        let lease = try await client.grantLease(ttl: .seconds(10))
        try client.keepAlive(lease: lease.id, ttl: lease.ttl)
        try await client.put("/r/leased", value: "v", lease: lease.id)
        let seen = Box<[String]>([])
        let task = Task { for try await batch in client.watch(.prefix("/r/w/")) { seen.withLock { $0 += batch.events.map(\.kv.valueString) } } }
        defer { task.cancel() }
        #expect(await EtcdTest.eventually { client.statistics.watchStreamOpen })
        try await client.put("/r/w/1", value: "one")
        #expect(await EtcdTest.eventually { seen.get == ["one"] })
        etcd.kill()
        // Requests fail while nothing answers, with a typed error, within the operation timeout.
        let down = ContinuousClock.now
        let error = await #expect(throws: EtcdError.self) { try await client.put("/r/w/x", value: "lost") }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(ContinuousClock.now - down < .seconds(6))
        try await etcd.restart()
        #expect(await EtcdTest.eventually(.seconds(10)) { (try? await client.put("/r/w/2", value: "two")) != nil })
        #expect(await EtcdTest.eventually(.seconds(10)) { seen.get == ["one", "two"] }, "\(seen.get)")
        #expect(try await client.get("/r/leased")?.valueString == "v")
        let stats = client.statistics
        #expect(stats.watchStreamsOpened >= 2 && stats.keepAliveStreamsOpened >= 2, "\(stats)")
        await client.shutdown()
        etcd.stop()
    }

    @Test func aWatchFromCompactedHistoryEndsWithWhereHistoryStarts() async throws {
        let etcd = try await EtcdProcess()
        let client = try Self.client(etcd)
        let first = try await client.put("/c/k", value: "1")
        try await client.put("/c/k", value: "2")
        let last = try await client.put("/c/k", value: "3")
        try await client.compact(revision: last.revision)
        let error = await #expect(throws: EtcdError.self) {
            for try await _ in client.watch(.prefix("/c/"), fromRevision: first.revision) {}
        }
        #expect(error?.code == .compacted && error?.compactRevision == last.revision, "\(String(describing: error))")
        let read = await #expect(throws: EtcdError.self) { try await client.range(.key("/c/k"), revision: first.revision) }
        #expect(read?.code == .compacted, "\(String(describing: read))")
        // The stream carries on for other watches.
        let seen = Box<[String]>([])
        let task = Task { for try await batch in client.watch(.prefix("/c/"), fromRevision: last.revision) { seen.withLock { $0 += batch.events.map(\.kv.valueString) } } }
        defer { task.cancel() }
        #expect(await EtcdTest.eventually { seen.get == ["3"] })
        await client.shutdown()
        etcd.stop()
    }

    @Test(arguments: [[UInt8](repeating: 0xff, count: 64), Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8),
                      [0, 0, 4, 4, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 100)])
    func aMemberAnsweringGarbageIsUnavailableAndTheNextOneServes(junk: [UInt8]) async throws {
        let server = try JunkServer(junk: junk)
        defer { server.stop() }
        let etcd = try await EtcdProcess()
        var config = try EtcdTest.configuration(["127.0.0.1:\(server.port)"])
        config.operationTimeout = .seconds(3)
        config.requestTimeout = .seconds(1)
        let alone = try EtcdConnection(configuration: config, logger: EtcdTest.logger("test.etcd"))
        let error = await #expect(throws: EtcdError.self) { try await alone.get("/x") }
        #expect(error?.isRetryable == true, "\(String(describing: error))")
        await alone.shutdown()
        // With a real member next in the list, requests, leases and watches move on to it.
        let client = try EtcdConnection(configuration: try EtcdTest.configuration(["127.0.0.1:\(server.port)"] + etcd.endpoints), logger: EtcdTest.logger("test.etcd"))
        try await client.put("/j/k", value: "v")
        #expect(try await client.get("/j/k")?.valueString == "v")
        let lease = try await client.grantLease(ttl: .seconds(5))
        #expect(try await client.refreshLease(lease.id) > 0)
        #expect(client.activeEndpoint.description == etcd.endpoints[0])
        await client.shutdown()
        etcd.stop()
    }

    /// etcd (grpc-go) answers nearly every request with a flow-control PING, and swift-nio-http2 closes
    /// a connection that receives over 200 PINGs in 30 s, failing what is in flight on it (a
    /// transaction then fails as `unavailable`, since it is not retried). The client moves requests to
    /// a fresh connection every ``EtcdConfiguration/connectionCallBudget`` of them; with no budget the
    /// same run loses requests (the control).
    @Test(arguments: [100, 0]) func manyTransactionsInARowKeepTheirConnection(_ budget: Int) async throws {
        let etcd = try await EtcdProcess()
        var c = try EtcdTest.configuration(etcd.endpoints)
        c.connectionCallBudget = budget
        let client = try EtcdConnection(configuration: c, logger: EtcdTest.logger("test.etcd"))
        let failures = Box<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for i in 0..<200 {
                        do {
                            _ = try await client.txn(EtcdTxn(compare: [.absent("/b/\(writer)/\(i)")], success: [.put("/b/\(writer)/\(i)", [1])]))
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
            }
        }
        if budget > 0 {
            #expect(failures.get.isEmpty, "\(failures.get)")
            #expect(client.statistics.connectionRotations >= 7, "\(client.statistics)")
            // Replaced connections close once their requests are done.
            #expect(await EtcdTest.eventually(.seconds(6)) { client.members.retiredConnections == 0 })
        } else {
            #expect(!failures.get.isEmpty, "without a budget the connection is closed under the requests")
            #expect(client.statistics.connectionRotations == 0)
        }
        await client.shutdown()
        etcd.stop()
    }

    @Test func nothingListeningIsUnavailableAndShutdownEndsEverything() async throws {
        let port = try freePort()
        var config = try EtcdTest.configuration(["127.0.0.1:\(port)"])
        config.operationTimeout = .seconds(3)
        let client = try EtcdConnection(configuration: config, logger: EtcdTest.logger("test.etcd"))
        let start = ContinuousClock.now
        let error = await #expect(throws: EtcdError.self) { try await client.get("/x") }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(ContinuousClock.now - start < .seconds(4))
        let watch = client.watch(.prefix("/x"))
        await client.shutdown()
        let ended = await #expect(throws: EtcdError.self) { for try await _ in watch {} }
        #expect(ended?.code == .shutdown)
        let after = await #expect(throws: EtcdError.self) { try await client.get("/x") }
        #expect(after?.code == .shutdown)
    }
}
