import Foundation
import MicroCore
@testable import MicroGossip
import MicroTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a gossip member running in another process reports, written to a file every 50 ms.
struct GossipNodeStatus: Codable, Sendable {
    /// Member name → state, as this member sees them (itself excluded).
    var members: [String: String]
    /// Service names this member lists.
    var services: [String]
}

/// A gossip member in a process of its own: this test binary run again with a filter that selects
/// ``GossipNodeHelper/runsANodeInThisProcessWhenAsked()``, optionally inside a network namespace.
/// Killed by pid.
final class GossipNodeProcess: @unchecked Sendable {
    // Safety: touched only by the test that owns it.
    let name: String
    let bind: String
    let statusURL: URL
    private var process: SpawnedProcess?

    init(name: String, bind: String, seeds: [String], namespace: String? = nil) throws {
        self.name = name
        self.bind = bind
        statusURL = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-\(name)-\(UUID().uuidString.prefix(6)).json")
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let helperArgs = [me, "--testing-library", "swift-testing", "--filter", "runsANodeInThisProcessWhenAsked"]
        let (executable, arguments) = namespace != nil
            ? (try ipBinary(), ["netns", "exec", namespace!] + helperArgs)
            : (me, Array(helperArgs.dropFirst()))
        process = try SpawnedProcess(executable, arguments, environment: [
            "GOSSIP_HELPER_NAME": name,
            "GOSSIP_HELPER_BIND": bind,
            "GOSSIP_HELPER_SEEDS": seeds.joined(separator: ","),
            "GOSSIP_HELPER_STATUS": statusURL.path,
            "GOSSIP_HELPER_SECONDS": "90",
        ])
    }

    /// The latest status the member wrote (nil before the first).
    var status: GossipNodeStatus? {
        guard let data = try? Data(contentsOf: statusURL) else { return nil }
        return try? JSONDecoder().decode(GossipNodeStatus.self, from: data)
    }

    var pid: Int32? { process.flatMap { $0.isRunning ? $0.pid : nil } }

    /// SIGKILL, then reap.
    func kill() {
        process?.kill()
        process = nil
    }

    /// Asks the member to leave (a stop file), waits up to 5 s, then SIGKILL.
    func stop() {
        guard let p = process else { return }
        process = nil
        _ = FileManager.default.createFile(atPath: statusURL.path + ".stop", contents: nil)
        if !p.wait(timeout: .seconds(5)) { p.kill() }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: statusURL)
        try? FileManager.default.removeItem(atPath: statusURL.path + ".stop")
    }
}

/// The `ip` binary (iproute2), or an ``EngineMissing`` error.
func ipBinary() throws -> String { try NetworkNamespace.ipBinary() }

/// Runs `ip args`; throws with its error output when it fails.
func ip(_ args: [String]) throws {
    try ChildProcess.run(try ipBinary(), args)
}

/// Two network namespaces `a` and `b` (`10.200.<net>.1` and `.2`), each linked by a veth pair to a
/// bridge in a third namespace; all deleted on ``delete()``. Cutting `a`'s link at the bridge leaves
/// both sides' own addresses working (only the carrier drops), as a switch port going dark would.
final class VethPair: @unchecked Sendable {
    // Safety: touched only by the test that owns it.
    let a: String, b: String, middle: String
    let addressA: String, addressB: String
    private let bridgeSideA: String
    private var deleted = false

    init(net: Int) throws {
        guard geteuid() == 0 else { throw EngineMissing(description: "network namespaces need root") }
        let tag = UUID().uuidString.prefix(6).lowercased()
        a = "micro-gossip-a-\(tag)"
        b = "micro-gossip-b-\(tag)"
        middle = "micro-gossip-m-\(tag)"
        bridgeSideA = "gma\(tag)"
        addressA = "10.200.\(net).1"
        addressB = "10.200.\(net).2"
        try ip(["netns", "add", a])
        do {
            try ip(["netns", "add", b])
            try ip(["netns", "add", middle])
            for ns in [a, b, middle] { try ip(["-n", ns, "link", "set", "lo", "up"]) }
            try ip(["-n", middle, "link", "add", "br0", "type", "bridge"])
            try ip(["-n", middle, "link", "set", "br0", "up"])
            for (ns, inner, outer, address) in [(a, "gsa\(tag)", bridgeSideA, addressA), (b, "gsb\(tag)", "gmb\(tag)", addressB)] {
                try ip(["-n", middle, "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns])
                try ip(["-n", middle, "link", "set", outer, "master", "br0"])
                try ip(["-n", middle, "link", "set", outer, "up"])
                try ip(["-n", ns, "addr", "add", "\(address)/24", "dev", inner])
                try ip(["-n", ns, "link", "set", inner, "up"])
            }
        } catch {
            delete()
            throw error
        }
    }

    /// Cuts (false) or restores (true) `a`'s link at the bridge.
    func link(up: Bool) throws { try ip(["-n", middle, "link", "set", bridgeSideA, up ? "up" : "down"]) }

    func delete() {
        guard !deleted else { return }
        deleted = true
        for ns in [a, b, middle] { _ = try? ip(["netns", "del", ns]) }
    }

    deinit { delete() }
}

@Suite struct GossipNodeHelper {
    /// Runs one member until a stop file appears or its time is up, writing its view to a file.
    static func runNode(name: String, bind: String, seeds: [String], statusPath: String, lifetime: Duration) async throws {
        var c = GossipConfiguration.fast()
        c.nodeName = name
        let address = try GossipAddress.parse(bind)
        c.bindHost = address.host
        c.bindPort = address.port
        c.seeds = seeds
        let r = GossipRegistry(configuration: c)
        try await r.start()
        try await r.register(record("svc-\(name)", nodes: ["\(name)-n"]), ttl: nil)
        let deadline = ContinuousClock.now + lifetime
        let encoder = JSONEncoder()
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: statusPath + ".stop") {
            var members: [String: String] = [:]
            for m in try await r.members() where m.name != name { members[m.name] = m.state.description }
            let services = try await r.listServices().map(\.name)
            try encoder.encode(GossipNodeStatus(members: members, services: services)).write(to: URL(fileURLWithPath: statusPath), options: .atomic)
            try await Task.sleep(for: .milliseconds(50))
        }
        await r.shutdown()
    }

    /// In a helper process (GOSSIP_HELPER_* set): runs the member. In a normal test run: runs the same
    /// routine in this process beside a member that joins it, and checks what it writes.
    @Test func runsANodeInThisProcessWhenAsked() async throws {
        let env = ProcessInfo.processInfo.environment
        if let name = env["GOSSIP_HELPER_NAME"], let bind = env["GOSSIP_HELPER_BIND"], let status = env["GOSSIP_HELPER_STATUS"] {
            let seeds = (env["GOSSIP_HELPER_SEEDS"] ?? "").split(separator: ",").map(String.init)
            try await Self.runNode(name: name, bind: bind, seeds: seeds, statusPath: status,
                                   lifetime: .seconds(Int(env["GOSSIP_HELPER_SECONDS"] ?? "60") ?? 60))
            return
        }
        let port = try freeUDPAndTCPPort()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-self-\(UUID().uuidString.prefix(6)).json").path
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".stop")
        }
        let node = Task { try await Self.runNode(name: "helper-self", bind: "127.0.0.1:\(port)", seeds: [], statusPath: path, lifetime: .seconds(20)) }
        let peer = try await startNode("helper-peer", seeds: ["127.0.0.1:\(port)"])
        try await peer.register(record("svc-peer", nodes: ["peer-n"]), ttl: nil)
        let seen = await eventually(.seconds(10)) {
            guard let data = FileManager.default.contents(atPath: path),
                  let s = try? JSONDecoder().decode(GossipNodeStatus.self, from: data) else { return false }
            return s.members["helper-peer"] == "alive" && Set(s.services) == ["svc-helper-self", "svc-peer"]
        }
        #expect(seen)
        _ = FileManager.default.createFile(atPath: path + ".stop", contents: nil)
        try await node.value
        #expect(await eventually(.seconds(3)) { (try? await peer.members())?.first { $0.name == "helper-self" }?.state == .left })
        await peer.shutdown()
    }
}

@Suite(.serialized) struct GossipProcessTests {
    @Test func killNineOfAMemberProcessIsDetectedAndItsRecordsVanish() async throws {
        let observer = try await startNode("observer")
        let seed = try await observer.advertisedAddress()
        let p1 = try GossipNodeProcess(name: "proc-1", bind: "127.0.0.1:\(try freeUDPAndTCPPort())", seeds: [seed])
        let p2 = try GossipNodeProcess(name: "proc-2", bind: "127.0.0.1:\(try freeUDPAndTCPPort())", seeds: [seed])
        defer { p1.stop(); p2.stop() }
        let joined = await eventually(.seconds(30)) {
            let services = Set(((try? await observer.listServices()) ?? []).map(\.name))
            return await memberNames(observer) == ["proc-1", "proc-2"] && services.isSuperset(of: ["svc-proc-1", "svc-proc-2"])
                && p2.status?.members["proc-1"] == "alive"
        }
        let observed = await memberNames(observer)
        #expect(joined, "observer: \(observed), proc-2: \(String(describing: p2.status))")
        let killedAt = ContinuousClock.now
        p1.kill()
        let detected = await eventually(.seconds(15)) {
            let state = (try? await observer.members())?.first { $0.name == "proc-1" }?.state
            let services = Set(((try? await observer.listServices()) ?? []).map(\.name))
            return (state == .dead || state == nil) && !services.contains("svc-proc-1")
                && p2.status?.members["proc-1"].map { $0 == "dead" } ?? true && p2.status?.services.contains("svc-proc-1") == false
        }
        #expect(detected)
        print("gossip: kill -9 of a member process detected by every member, its records gone, after \(ContinuousClock.now - killedAt)")
        await observer.shutdown()
    }

    @Test func aPartitionBetweenNamespacesIsDetectedAndHeals() async throws {
        let pair = try VethPair(net: 77)
        defer { pair.delete() }
        let a1 = "\(pair.addressA):17946", a2 = "\(pair.addressA):17947"
        let b1 = "\(pair.addressB):17946", b2 = "\(pair.addressB):17947"
        let nodes = [
            try GossipNodeProcess(name: "part-a1", bind: a1, seeds: [a1], namespace: pair.a),
            try GossipNodeProcess(name: "part-a2", bind: a2, seeds: [a1], namespace: pair.a),
            try GossipNodeProcess(name: "part-b1", bind: b1, seeds: [a1], namespace: pair.b),
            try GossipNodeProcess(name: "part-b2", bind: b2, seeds: [a1], namespace: pair.b),
        ]
        defer { for n in nodes { n.stop() } }
        let all = Set(nodes.map(\.name))
        func whole() -> Bool {
            nodes.allSatisfy { n in
                guard let s = n.status else { return false }
                let alive = Set(s.members.filter { $0.value == "alive" }.keys)
                return alive == all.subtracting([n.name]) && Set(s.services) == Set(all.map { "svc-\($0)" })
            }
        }
        #expect(await eventually(.seconds(30)) { whole() }, "\(nodes.map { "\($0.name): \(String(describing: $0.status))" })")
        // Cut the link: each side declares the other dead and drops its records.
        let cutAt = ContinuousClock.now
        try pair.link(up: false)
        let trace = ProcessInfo.processInfo.environment["GOSSIP_TRACE"] != nil
        let split = await eventually(.seconds(20)) {
            if trace { print(ContinuousClock.now - cutAt, nodes.map { "\($0.name): \(String(describing: $0.status))" }) }
            return nodes.allSatisfy { n in
                guard let s = n.status else { return false }
                let mySide = n.name.hasPrefix("part-a") ? "part-a" : "part-b"
                let others = all.filter { !$0.hasPrefix(mySide) }
                return others.allSatisfy { s.members[$0] == "dead" || s.members[$0] == nil }
                    && others.allSatisfy { !s.services.contains("svc-\($0)") }
                    && s.members.filter { $0.key.hasPrefix(mySide) }.allSatisfy { $0.value == "alive" }
            }
        }
        #expect(split, "\(nodes.map { "\($0.name): \(String(describing: $0.status))" })")
        print("gossip partition: both sides declared the other dead after \(ContinuousClock.now - cutAt)")
        // Heal: seeds are joined again, refutations spread, everyone sees everyone and every record.
        let healAt = ContinuousClock.now
        try pair.link(up: true)
        let healed = await eventually(.seconds(30)) { whole() }
        #expect(healed, "\(nodes.map { "\($0.name): \(String(describing: $0.status))" })")
        print("gossip partition: healed (all members alive, all records back) after \(ContinuousClock.now - healAt)")
    }
}
