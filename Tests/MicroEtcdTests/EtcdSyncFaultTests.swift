import Foundation
import MicroCore
import MicroEtcd
import MicroTestSupport
import SyncConformance
import Testing

/// Locks and leaders on etcd across processes (`SyncContender`), with holders killed or stopped and
/// the etcd leader of a three-member cluster killed.
@Suite(.serialized) struct EtcdSyncFaultTests {
    static func harness(_ etcd: EtcdProcess) throws -> SyncFaultHarness {
        let sync = try EtcdSync(etcd: try EtcdTest.configuration(etcd.endpoints), logger: EtcdTest.logger("test.sync.etcd"))
        return SyncFaultHarness(engine: "etcd", address: etcd.addressList, sync: sync, store: EtcdStore(client: sync.client), ttl: .seconds(2))
    }

    @Test func contendersTakeTurnsAndKilledOrStoppedHoldersAreFencedOff() async throws {
        let etcd = try await EtcdProcess()
        defer { etcd.stop() }
        let harness = try Self.harness(etcd)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sync-etcd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let holds = try await harness.contend(name: "contended", processes: 3, seconds: 4, directory: directory)
        #expect(holds >= 3, "only \(holds) acquisitions in 4 s")
        let freedAfter = try await harness.killedHolderFreesLock(name: "killed", directory: directory)
        print("etcd: a lock whose holder was killed was taken \(freedAfter) later (TTL 2 s)")
        try await harness.stoppedHolderIsFencedOff(name: "stopped", directory: directory)
        await harness.sync.shutdown()
    }

    @Test func leaderElectionAcrossProcessesWhileTheEtcdLeaderIsKilled() async throws {
        let etcd = try await EtcdProcess(size: 3)
        defer { etcd.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("leader-etcd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let events = directory.appendingPathComponent("events.log")
        let seconds = 10
        var children: [SpawnedProcess] = []
        for i in 0..<3 {
            children.append(try SpawnedProcess(try SyncFaultHarness.contenderExecutable(),
                                               ["etcd", etcd.addressList, "lead", "primary", "2000", String(seconds), events.path],
                                               output: directory.appendingPathComponent("leader-\(i).out")))
        }
        defer { for child in children where child.isRunning { child.kill() } }
        // Let terms come and go, then kill the etcd leader in the middle of them.
        try await Task.sleep(for: .seconds(3))
        let leader = try #require(try etcd.leaderIndex())
        etcd.kill(leader)
        let killedAt = Date()
        for child in children { #expect(child.wait(timeout: .seconds(Int64(seconds) + 60)), "a contender did not finish") }
        let lines = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        var current: (term: Substring, pid: Substring)?
        var last: UInt64 = 0
        var terms: [UInt64] = []
        for (n, line) in lines.enumerated() {
            guard line.count >= 3, let term = UInt64(line[1]) else { Issue.record("line \(n): \(line)"); continue }
            if line[0] == "lead" {
                #expect(current == nil, "line \(n): \(line[2]) leads term \(term) while \(String(describing: current)) leads")
                #expect(term > last, "line \(n): term \(term) after \(last)")
                last = term
                terms.append(term)
                current = (line[1], line[2])
            } else {
                #expect(current.map { $0 == (line[1], line[2]) } ?? false, "line \(n): \(line) ends a term that is not the current one")
                current = nil
            }
        }
        // Terms went on after the kill: the election survived losing the etcd leader.
        let modified = try FileManager.default.attributesOfItem(atPath: events.path)[.modificationDate] as? Date
        #expect(terms.count >= 4, "only \(terms.count) terms: \(lines)")
        #expect((modified ?? .distantPast) > killedAt.addingTimeInterval(2), "no term began or ended after the etcd leader was killed")
        let outputs = (0..<3).map { (try? String(contentsOf: directory.appendingPathComponent("leader-\($0).out"), encoding: .utf8)) ?? "" }
        #expect(outputs.allSatisfy { $0.contains("done") }, "\(outputs)")
    }
}
