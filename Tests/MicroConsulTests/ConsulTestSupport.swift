import Foundation
import MicroConsul
import MicroCore
import MicroTestSupport
import Synchronization

/// Shared helpers of the Consul tests.
enum ConsulTest {
    /// A configuration on `addresses` with test-sized timings.
    static func configuration(_ addresses: [String]) -> ConsulRegistryConfiguration {
        var c = ConsulRegistryConfiguration()
        c.addresses = addresses
        c.requestTimeout = .seconds(2)
        c.connectTimeout = .seconds(1)
        c.blockingWait = .seconds(2)
        c.watchRetryInitial = .milliseconds(50)
        c.watchRetryMax = .milliseconds(200)
        c.watchMinInterval = .milliseconds(10)
        return c
    }

    static func registry(_ agent: ConsulFixtureAgent, _ tweak: (inout ConsulRegistryConfiguration) -> Void = { _ in }) -> ConsulRegistry {
        var c = configuration([agent.address])
        tweak(&c)
        return ConsulRegistry(configuration: c)
    }

    /// The record the conformance tests use.
    static func record(_ name: String = "conf", version: String = "1.0.0", nodes: [String], meta: [String: String] = [:]) -> ServiceRecord {
        ServiceRecord(
            name: name, version: version, metadata: ["team": "core"],
            endpoints: [Endpoint(name: "Conf.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                 response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
            nodes: nodes.map { Node(id: $0, address: "127.0.0.1:8080", metadata: ["protocol": "mucp"].merging(meta) { $1 }) })
    }

    static func eventually(_ timeout: Duration = .seconds(6), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return await condition()
    }

    static func nodeIDs(_ registry: any Registry, _ name: String) async -> Set<String> {
        Set(((try? await registry.getService(name)) ?? []).flatMap(\.nodes).map(\.id))
    }

    /// A loopback port nothing listens on.
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// Events a watch delivered, collected by a task.
final class EventLog: Sendable {
    private final class Store: Sendable {
        let events = Mutex<[RegistryEvent]>([])
        let ended = Mutex(false)
    }
    private let store = Store()
    let task: Task<Void, Never>

    init(_ watch: RegistryWatch) {
        let store = self.store
        task = Task {
            do { for try await e in watch { store.events.withLock { $0.append(e) } } } catch {}
            store.ended.withLock { $0 = true }
        }
    }

    var all: [RegistryEvent] { store.events.withLock { $0 } }
    var finished: Bool { store.ended.withLock { $0 } }
    func contains(_ action: RegistryEvent.Action, _ name: String? = nil) -> Bool {
        all.contains { $0.action == action && (name == nil || $0.service.name == name) }
    }
}
