import Foundation
import MicroCore
@testable import MicroGossip
import MicroTestSupport
import Testing

/// Interop with a real `serf agent` (hashicorp memberlist, protocol 5): serf and Swift members see
/// each other alive, detect each other's failure, and serf sees a Swift member's graceful leave.
/// Fails (never skips) when serf is missing.
@Suite(.serialized) struct GossipSerfInteropTests {
    @Test func serfAndSwiftMembersSeeEachOtherFailAndLeave() async throws {
        let serfA = try await SerfProcess(name: "serf-a")
        defer { serfA.stop() }
        // Two Swift members join the serf agent.
        let s1 = try await startNode("swift-1", seeds: [serfA.address]) { $0.joinRetryInterval = .seconds(30) }
        let s2 = try await startNode("swift-2", seeds: [serfA.address]) { $0.joinRetryInterval = .seconds(30) }
        let swiftNames: Set<String> = ["swift-1", "swift-2"]
        func serfStatus(_ serf: SerfProcess) -> [String: String] {
            Dictionary(((try? serf.members()) ?? []).map { ($0.name, $0.status) }, uniquingKeysWith: { a, _ in a })
        }
        let serfSeesSwift = await eventually(.seconds(15)) {
            let s = serfStatus(serfA)
            return swiftNames.allSatisfy { s[$0] == "alive" }
        }
        #expect(serfSeesSwift, "serf members: \(serfStatus(serfA))\n\(serfA.log.suffix(3000))")
        #expect(await eventually(.seconds(10)) {
            let one = await memberNames(s1), two = await memberNames(s2)
            return one == ["serf-a", "swift-2"] && two == ["serf-a", "swift-1"]
        })
        let tags = try serfA.members().first { $0.name == "swift-1" }?.tags ?? [:]
        #expect(tags["micro"] == "gossip", "\(tags)")
        let serfMember = try await s1.members().first { $0.name == "serf-a" }
        #expect(serfMember?.versions.count == 6, "\(String(describing: serfMember))")

        // Records still travel between the Swift members of a mixed cluster.
        try await s1.register(record("mixed", nodes: ["mixed-1"]), ttl: nil)
        #expect(await eventually(.seconds(10)) { await nodeIDs(s2, "mixed") == ["mixed-1"] })

        // A second serf agent joins through a Swift member (serf push-pulls with Swift, compressed).
        let serfB = try await SerfProcess(name: "serf-b", join: [try await s2.advertisedAddress()])
        defer { serfB.stop() }
        let bSeesAll = await eventually(.seconds(15)) {
            let s = serfStatus(serfB)
            return ["serf-a", "swift-1", "swift-2"].allSatisfy { s[$0] == "alive" }
        }
        #expect(bSeesAll, "serf-b members: \(serfStatus(serfB))\n\(serfB.log.suffix(3000))")
        #expect(await eventually(.seconds(10)) { await memberNames(s1).contains("serf-b") })

        // kill -9 the first serf agent: the Swift members declare it dead.
        let killedAt = ContinuousClock.now
        serfA.kill()
        let detected = await eventually(.seconds(15)) {
            for s in [s1, s2] {
                let state = (try? await s.members())?.first { $0.name == "serf-a" }?.state
                guard state == .dead || state == nil else { return false }
            }
            return true
        }
        #expect(detected)
        print("gossip interop: Swift members declared the killed serf agent dead after \(ContinuousClock.now - killedAt)")
        // ... and so does serf-b, told by them or by its own probes.
        #expect(await eventually(.seconds(20)) { serfStatus(serfB)["serf-a"] == "failed" })

        // A Swift member crashes (sockets closed, no goodbye): serf-b marks it failed (its own probes
        // fail, and swift-1 declares it dead too).
        let crashedAt = ContinuousClock.now
        await s2.crash()
        let failed = await eventually(.seconds(30)) { serfStatus(serfB)["swift-2"] == "failed" }
        #expect(failed, "serf-b members: \(serfStatus(serfB))")
        print("gossip interop: serf marked the crashed Swift member failed after \(ContinuousClock.now - crashedAt)")
        await s2.shutdown()

        // A Swift member leaves gracefully: serf-b shows it left.
        let leftAt = ContinuousClock.now
        await s1.shutdown()
        let seenLeft = await eventually(.seconds(15)) { serfStatus(serfB)["swift-1"] == "left" }
        #expect(seenLeft, "serf-b members: \(serfStatus(serfB))")
        print("gossip interop: serf saw the Swift member leave (\(serfStatus(serfB)["swift-1"] ?? "?")) after \(ContinuousClock.now - leftAt)")

        // Nothing a Swift member sent made serf complain.
        let complaints = serfB.log.split(separator: "\n").filter {
            $0.contains("[ERR]") && ($0.contains("swift") || $0.contains("decode") || $0.contains("Remote state") || $0.contains("unknown"))
        }
        #expect(complaints.isEmpty, "\(complaints)")
        let warnings = serfB.log.split(separator: "\n").filter { $0.contains("unknown type") || $0.contains("Failed to decode") }
        #expect(warnings.isEmpty, "\(warnings)")
        if ProcessInfo.processInfo.environment["GOSSIP_PRINT_SERF_LOG"] != nil { print(serfA.log, serfB.log) }

        await s1.shutdown()
    }

    /// Issue 23, item 11: a node whose only seed is a serf agent (which carries no service records)
    /// still learns the services of the Swift members the agent tells it of, at once (as `micro
    /// services` with `MICRO_REGISTRY_ADDRESS` at the agent needs) and in a long-lived member too.
    @Test func aNodeJoiningThroughASerfAgentLearnsTheSwiftMembersServices() async throws {
        let serf = try await SerfProcess(name: "serf-seed")
        defer { serf.stop() }
        // Periodic push-pull (memberlist: every 30 s, with a random member) is not what this relies on.
        let a = try await startNode("swift-a", seeds: [serf.address]) { $0.pushPullInterval = .seconds(60) }
        try await a.register(record("through-serf", nodes: ["through-serf-1"]), ttl: nil)
        let serfSeesA = await eventually(.seconds(10)) { ((try? serf.members()) ?? []).contains { $0.name == "swift-a" && $0.status == "alive" } }
        #expect(serfSeesA, "serf members: \(String(describing: try? serf.members()))\n\(serf.log.suffix(2000))")
        // A first Swift member through the agent hears of the registration by gossip, which uses up its retransmits.
        let w = try await startNode("swift-w", seeds: [serf.address]) { $0.pushPullInterval = .seconds(60) }
        #expect(await eventually(.seconds(10)) { await nodeIDs(w, "through-serf") == ["through-serf-1"] })
        try await Task.sleep(for: .milliseconds(500))

        // The CLI's path: a fresh registry as the engine factory makes it, its only peer the agent, listed once.
        let started = ContinuousClock.now
        let cli = GossipRegistry(bind: "127.0.0.1:0", peers: serf.address)
        let listed = try await cli.listServices().map(\.name)
        let took = ContinuousClock.now - started
        await cli.shutdown()
        #expect(listed.contains("through-serf"), "listed \(listed) through the serf agent")
        #expect(took < .seconds(10), "listing took \(took)")
        print("gossip interop: a fresh member listed a Swift member's service through a serf seed in \(took)")

        // A long-lived member with the same seed sees the service, and a later registration of A.
        let b = try await startNode("swift-b", seeds: [serf.address]) { $0.pushPullInterval = .seconds(60) }
        #expect(await eventually(.seconds(10)) { await nodeIDs(b, "through-serf") == ["through-serf-1"] })
        // A later registration travels by gossip (push-pull is 60 s away), which reaches the members A
        // knows: B may have synced with W before A heard of it, so wait until A sees B alive.
        #expect(await eventually(.seconds(10)) { await memberNames(a).contains("swift-b") })
        try await a.register(record("through-serf-2", nodes: ["later-1"]), ttl: nil)
        #expect(await eventually(.seconds(10)) { await nodeIDs(b, "through-serf-2") == ["later-1"] })

        await b.shutdown()
        await w.shutdown()
        await a.shutdown()
    }
}
