import ArgumentParser
import Foundation
import Micro
import MicroConsul
import MicroEtcd
import MicroGRPC
import MicroGossip
import MicroMDNS
import MicroNATS
import MicroTestSupport
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// `micro-bench registry`: per registry, how long a registration made in one process takes to show
/// in another process's watch, and how long a process killed with -9 stays visible there.
///
/// Each sample starts a child process (`micro-bench registry-node`) that builds its registry from the
/// environment like any service would, notes the wall clock, registers one node, and heartbeats. The
/// benchmark process watches the service with a registry of its own and notes the wall clock when the
/// node appears (create/update event); then it kills the child with SIGKILL and notes when the node
/// leaves (delete event). Both processes run on this machine, so their wall clocks agree.
struct RegistryBench: AsyncParsableCommand {
    /// Every registry the benchmark can measure.
    static let engines = Engines.embedded.adding([.nats, .etcd, .gossip, .mdns, .consul])

    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Register→visible and kill -9→removed times per registry, across processes.")

    @Option(help: "Registries, comma-separated, from: local, mdns (in a network namespace of its own; needs root), nats, etcd, gossip.")
    var registries: String = "local,mdns,nats,etcd,gossip"
    @Option(help: "Samples (child processes) per registry.")
    var samples: Int = 10
    @Option(help: "The children's registration TTL in seconds (they heartbeat every TTL/3); it bounds kill -9→removed for TTL-based registries.")
    var ttl: Double = 3
    @Option(help: "Seconds to wait for a node to appear or leave before counting the sample as failed.")
    var timeout: Double = 30

    func validate() throws {
        guard samples >= 1, samples <= 1000, ttl >= 1, ttl <= 300, timeout >= 1 else {
            throw ValidationError("samples 1...1000, ttl 1...300 s, timeout ≥ 1 s")
        }
    }

    func run() async throws {
        let kinds = registries.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        print("micro-bench registry — \(samples) child processes per registry, TTL \(Table.fmt(ttl, 1)) s (heartbeat every \(Table.fmt(ttl / 3, 1)) s); \(System.coreCount) cores")
        print("register→visible: child's clock before register() to the watcher's create event; kill -9→removed: SIGKILL to the delete event")
        print("")
        print(Table.pad("registry", 10, left: true) + Table.pad("visible p50 ms", 16) + Table.pad("p99 ms", 10)
              + Table.pad("removed p50 s", 16) + Table.pad("p99 s", 10) + Table.pad("failed", 8))
        for kind in kinds {
            let result = try await measure(kind)
            let visible = result.visible.sorted(), removed = result.removed.sorted()
            print(Table.pad(kind, 10, left: true)
                  + Table.pad(Table.fmt(quantile(visible, 0.5) * 1000, 1), 16) + Table.pad(Table.fmt(quantile(visible, 0.99) * 1000, 1), 10)
                  + Table.pad(Table.fmt(quantile(removed, 0.5), 2), 16) + Table.pad(Table.fmt(quantile(removed, 0.99), 2), 10)
                  + Table.pad("\(result.failed)", 8))
            if let note = result.note { print("           \(note)") }
        }
    }

    struct Result {
        var visible: [Double] = []
        var removed: [Double] = []
        var failed = 0
        var note: String?
    }

    /// What one registry needs: the watcher's environment and the children's, and what to stop afterwards.
    private struct Setup {
        var environment: [String: String]
        var childEnvironment: (Int) throws -> [String: String] = { _ in [:] }
        /// Runs the child through this command (e.g. `ip netns exec NS`).
        var childPrefix: [String] = []
        /// The watcher's registry, when the environment alone cannot make it.
        var reader: (() throws -> any Registry)?
        var cleanup: () -> Void = {}
    }

    private func setup(_ kind: String) async throws -> Setup {
        switch kind {
        case "local":
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-registry-\(UUID().uuidString.prefix(8))").path
            return Setup(environment: ["MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": dir],
                         cleanup: { try? FileManager.default.removeItem(atPath: dir) })
        case "nats":
            let server = try await NATSServerProcess()
            return Setup(environment: ["MICRO_REGISTRY": "nats", "MICRO_REGISTRY_ADDRESS": server.url], cleanup: { server.stop() })
        case "etcd":
            let etcd = try await EtcdProcess()
            return Setup(environment: ["MICRO_REGISTRY": "etcd", "MICRO_REGISTRY_ADDRESS": etcd.addressList], cleanup: { etcd.stop() })
        case "mdns":
            // Multicast only inside a namespace that has only `lo`: the children run there, and the
            // watcher's sockets are made there.
            let namespace = try NetworkNamespace.create(prefix: "bench")
            var configuration = MDNSRegistryConfiguration()
            configuration.networkNamespace = namespace.name
            let (ip, exec) = try namespace.execArguments([])
            return Setup(environment: ["MICRO_REGISTRY": "mdns"], childPrefix: [ip] + exec,
                         reader: { MDNSRegistry(configuration: configuration) }, cleanup: { namespace.delete() })
        case "gossip":
            // The watcher is a member of its own; each child joins it from a port of its own.
            let watcher = try freePort()
            return Setup(environment: ["MICRO_REGISTRY": "gossip", "MICRO_GOSSIP_ADDRESS": "127.0.0.1:\(watcher)", "MICRO_REGISTRY_ADDRESS": ""],
                         childEnvironment: { _ in ["MICRO_GOSSIP_ADDRESS": "127.0.0.1:\(try freePort())", "MICRO_REGISTRY_ADDRESS": "127.0.0.1:\(watcher)"] })
        default:
            throw BenchError("no registry benchmark for '\(kind)' (local, mdns, nats, etcd, gossip)")
        }
    }

    private func measure(_ kind: String) async throws -> Result {
        let setup = try await setup(kind)
        defer { setup.cleanup() }
        let reader = try setup.reader?() ?? RegistryBench.engines.makeRegistry(EngineContext(environment: MicroEnvironment(setup.environment)))
        let service = "bench-registry"
        // Node id → wall-clock seconds it was first seen and when it left.
        let seen = NIOLockedValueBox<[String: (visible: Double?, removed: Double?)]>([:])
        let watch = try await reader.watch(service: service)
        let watcher = Task {
            do {
                for try await event in watch where event.service.name == service {
                    let now = wallClock()
                    seen.withLockedValue { table in
                        for node in event.service.nodes {
                            switch event.action {
                            case .create, .update:
                                if table[node.id]?.visible == nil { table[node.id, default: (nil, nil)].visible = now }
                            case .delete:
                                if table[node.id]?.removed == nil { table[node.id, default: (nil, nil)].removed = now }
                            }
                        }
                    }
                }
            } catch {}
        }
        defer { watcher.cancel() }
        try await Task.sleep(for: .milliseconds(300))   // the watch is established

        var result = Result()
        for i in 0..<samples {
            let node = "\(service)-\(i)-\(UUID().uuidString.prefix(8))"
            var env = ProcessInfo.processInfo.environment.merging(setup.environment) { $1 }
            env.merge(try setup.childEnvironment(i)) { $1 }
            let child = try ChildNode(node: node, service: service, ttl: ttl, environment: env, prefix: setup.childPrefix)
            defer { child.kill() }
            guard let registeredAt = child.registeredAt(timeout: timeout) else {
                result.failed += 1
                result.note = "a child did not register: \(child.stderrTail())"
                continue
            }
            guard let visibleAt = await waitFor(seen, node, \.visible) else {
                result.failed += 1
                result.note = "a node never became visible within \(Int(timeout)) s"
                continue
            }
            result.visible.append(max(0, visibleAt - registeredAt))
            let killedAt = wallClock()
            child.kill()
            guard let removedAt = await waitFor(seen, node, \.removed) else {
                result.failed += 1
                result.note = "a killed node was still listed after \(Int(timeout)) s"
                continue
            }
            result.removed.append(max(0, removedAt - killedAt))
        }
        if let r = reader as? NATSRegistry { await r.shutdown() }
        if let r = reader as? EtcdRegistry { await r.shutdown() }
        if let r = reader as? GossipRegistry { await r.shutdown() }
        if let r = reader as? MDNSRegistry { await r.shutdown() }
        return result
    }

    private func waitFor(_ seen: NIOLockedValueBox<[String: (visible: Double?, removed: Double?)]>, _ node: String,
                         _ field: KeyPath<(visible: Double?, removed: Double?), Double?>) async -> Double? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while ContinuousClock.now < deadline {
            if let t = seen.withLockedValue({ $0[node]?[keyPath: field] }) { return t }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    private func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = max(0, min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[rank]
    }
}

/// Seconds since the epoch (CLOCK_REALTIME), comparable across processes on one machine.
func wallClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A `micro-bench registry-node` child: registers one node and heartbeats until killed.
private final class ChildNode {
    private let process = Process()
    private let output = Pipe()
    private let errors = Pipe()

    init(node: String, service: String, ttl: Double, environment: [String: String], prefix: [String]) throws {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let command = prefix + [me, "registry-node", "--service", service, "--node", node, "--ttl", "\(ttl)"]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The wall clock the child read just before registering (it prints `registered <seconds>`).
    func registeredAt(timeout: Double) -> Double? {
        let handle = output.fileHandleForReading
        var line = Data()
        let deadline = Date().addingTimeInterval(timeout)
        var poller = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
        while Date() < deadline {
            let ready = poll(&poller, 1, 100)
            if ready < 0 && errno != EINTR { return nil }
            if ready <= 0 { if !process.isRunning { return nil } else { continue } }
            var byte: UInt8 = 0
            guard read(handle.fileDescriptor, &byte, 1) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") {
                let text = String(decoding: line, as: UTF8.self)
                if text.hasPrefix("registered "), let t = Double(text.dropFirst("registered ".count)) { return t }
                line.removeAll()
            } else if line.count < 4096 {
                line.append(byte)
            }
        }
        return nil
    }

    func stderrTail() -> String {
        kill()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data.suffix(300), as: UTF8.self)
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// The child side of `micro-bench registry`: registers one node with the registry the environment
/// names, prints the wall clock read just before, and heartbeats until killed (at most `--lifetime`).
struct RegistryNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "registry-node", abstract: "(used by micro-bench registry)", shouldDisplay: false)

    @Option var service: String
    @Option var node: String
    @Option var ttl: Double
    @Option(help: "Seconds after which the node deregisters and exits on its own.") var lifetime: Double = 300

    func run() async throws {
        let registry = try RegistryBench.engines.makeRegistry(EngineContext())
        let record = ServiceRecord(name: service, version: "1.0.0", nodes: [Node(id: node, address: "127.0.0.1:9", metadata: ["protocol": "mucp"])])
        let ttl = Duration.milliseconds(Int64(self.ttl * 1000))
        let start = wallClock()
        try await registry.register(record, ttl: ttl)
        FileHandle.standardOutput.write(Data("registered \(start)\n".utf8))
        let end = ContinuousClock.now + .milliseconds(Int64(lifetime * 1000))
        while ContinuousClock.now < end {
            try await Task.sleep(for: ttl / 3)
            try? await registry.register(record, ttl: ttl)
        }
        try? await registry.deregister(record)
    }
}
